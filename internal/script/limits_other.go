//go:build !linux

package script

import (
	"os"
	"syscall"
	"time"
)

// On systems other than Linux workers run without operating-system
// limits: the pool's wall-clock deadline still kills a worker that does
// not answer, and the in-process guards still apply.

func limitMemory(int64) error              { return nil }
func limitCPU(time.Duration) error         { return nil }
func cpuLimitSignal() os.Signal            { return nil }
func workerProcAttr() *syscall.SysProcAttr { return nil }
