// Package benchutil holds what the Go twins share.
package benchutil

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// VM returns a field of /proc/self/status in kB (VmHWM is the peak RSS),
// or -1.
func VM(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), field+":") {
			var v int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(s.Text(), field+":")), "%d", &v)
			return v
		}
	}
	return -1
}
