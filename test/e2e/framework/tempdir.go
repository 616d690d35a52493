package framework

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ownerFile, in a temporary directory of the framework, holds the PID of the
// process that made it.
const ownerFile = ".kubecerts-owner-pid"

// makeTempDir creates a directory prefix* in the system's temporary
// directory, owned by this process. First it removes the directories earlier
// runs left there by dying before they could (SIGKILL, a test timeout): those
// whose owner process is gone.
func makeTempDir(prefix string) (string, error) {
	removeStaleTempDirs(prefix)
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func removeStaleTempDirs(prefix string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not one of ours, or still being made
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}
