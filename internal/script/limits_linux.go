package script

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// arenaSlack is address space a worker may map beyond its memory limit:
// the Go runtime reserves heap in 64 MiB arenas.
const arenaSlack = 64 << 20

// limitMemory caps the address space this process may still map at
// memory (plus arenaSlack): past it, an allocation fails and the Go
// runtime ends the process with "fatal error: out of memory".
func limitMemory(memory int64) error {
	kib, err := procStatusKiB("VmSize")
	if err != nil {
		return err
	}
	limit := uint64(kib<<10) + uint64(memory) + arenaSlack
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		return fmt.Errorf("setrlimit RLIMIT_AS: %w", err)
	}
	return nil
}

// limitCPU lets this process use at most twice timeout, plus one second,
// of CPU time from now (goja runs on one thread; the collector may add
// more): the kernel sends SIGXCPU past it. Only the soft limit moves, so
// it can be raised again for the next run.
func limitCPU(timeout time.Duration) error {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	limit := uint64((used + 2*timeout + 2*time.Second - 1) / time.Second) // rounded up
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CPU, &cur); err != nil {
		return err
	}
	if cur.Max != ^uint64(0) && limit > cur.Max {
		limit = cur.Max
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_CPU, &syscall.Rlimit{Cur: limit, Max: cur.Max}); err != nil {
		return fmt.Errorf("setrlimit RLIMIT_CPU: %w", err)
	}
	return nil
}

func cpuLimitSignal() os.Signal { return syscall.SIGXCPU }

// workerProcAttr puts a worker in its own process group (a terminal's
// Ctrl-C goes to the server, which stops its workers) and has the kernel
// kill it when the server dies.
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
