//go:build kubecerts_faultinject

package rotate

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// Fault injection, in test builds only (go build -tags kubecerts_faultinject).
// The steps of a renewal that change a file are numbered from 1 in the order
// they happen; the environment picks one:
//
//	KUBECERTS_FAULT_AT=N      the step at which the process kills itself (SIGKILL)
//	KUBECERTS_FAULT_MODE=     after (default): once step N is complete;
//	                          torn: during step N, when it is a write: half
//	                          the data in a temporary file named as
//	                          atomicfile.Write names its own, not renamed
//	KUBECERTS_FAULT_LOG=FILE  appends "N STEP PATH SHA256" for every step
//	                          before it is made (SHA256 of the data written,
//	                          "-" for steps that write no data)
var renewFaultState struct {
	once sync.Once
	at   int
	mode string
	log  string
	n    int
}

func renewFaultInit() {
	renewFaultState.once.Do(func() {
		renewFaultState.at, _ = strconv.Atoi(os.Getenv("KUBECERTS_FAULT_AT"))
		renewFaultState.mode = os.Getenv("KUBECERTS_FAULT_MODE")
		renewFaultState.log = os.Getenv("KUBECERTS_FAULT_LOG")
	})
}

func renewFaultBefore(step, path string, data []byte) {
	renewFaultInit()
	renewFaultState.n++
	if renewFaultState.log != "" {
		sum := "-"
		if data != nil {
			sum = fmt.Sprintf("%x", sha256.Sum256(data))
		}
		if f, err := os.OpenFile(renewFaultState.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
			fmt.Fprintf(f, "%d %s %s %s\n", renewFaultState.n, step, path, sum)
			f.Close()
		}
	}
	if renewFaultState.n != renewFaultState.at || renewFaultState.mode != "torn" {
		return
	}
	if data != nil {
		if tmp, err := os.CreateTemp(filepath.Dir(path), renewTempPrefix(path)+"*"); err == nil {
			_, _ = tmp.Write(data[:len(data)/2])
			_ = tmp.Sync()
		}
	}
	renewFaultKill()
}

func renewFaultAfter(step, path string) {
	if renewFaultState.n == renewFaultState.at && renewFaultState.mode != "torn" {
		renewFaultKill()
	}
}

func renewFaultKill() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // never returns
}
