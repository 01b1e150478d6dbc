/* SPDX-License-Identifier: MIT */
/* Every test, once.  CMake reads this file to register each with CTest. */
TEST_ENTRY(go_million)
TEST_ENTRY(go_num_goroutine)
TEST_ENTRY(go_main_is_one)
TEST_ENTRY(go_yield_alternates)
TEST_ENTRY(go_exit)
TEST_ENTRY(go_exit_main_deadlock)
TEST_ENTRY(go_errors)
TEST_ENTRY(go_opts)
TEST_ENTRY(go_from_plain_thread)
