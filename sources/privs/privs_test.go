package privs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOpenUserRegularFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte("interval: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenUser(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil || string(b) != "interval: 1s\n" {
		t.Fatalf("read %q, %v", b, err)
	}
	if f.Name() != p {
		t.Errorf("Name() = %q", f.Name())
	}
}

// A FIFO would block open(2) until a writer comes, and then the read
// forever; OpenUser refuses it at once, as it does every file that is no
// regular file.
func TestOpenUserRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, kind string }{
		{fifo, "a FIFO"},
		{dir, "a directory"},
		{"/dev/null", "a character device"},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			f, err := OpenUser(tc.path)
			if err == nil {
				f.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("error %v does not wrap ErrNotRegular", err)
			}
			var pe *os.PathError
			if !errors.As(err, &pe) || pe.Path != tc.path {
				t.Errorf("error %v does not name the path", err)
			}
			if want := tc.kind; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
}

func TestOpenUserMissing(t *testing.T) {
	_, err := OpenUser(filepath.Join(t.TempDir(), "none"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %v, want ErrNotExist", err)
	}
}

func TestWithProcAccessRunsAndRestores(t *testing.T) {
	before, _, err := threadCaps()
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	WithProcAccess(func() { ran = true })
	if !ran {
		t.Fatal("fn did not run")
	}
	after, _, err := threadCaps()
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("effective set %#x after, %#x before", after, before)
	}
}

func TestSet(t *testing.T) {
	s := Set(1<<CapNetRaw | 1<<CapSysPtrace)
	if !s.Has(CapNetRaw) || !s.Has(CapSysPtrace) || s.Has(CapNetAdmin) {
		t.Errorf("Has on %#x", uint64(s))
	}
	// The read capabilities count when permitted, the others only when in
	// effect.
	if got := usable(1<<CapNetRaw, 1<<CapNetAdmin|1<<CapDacReadSearch); got != 1<<CapNetRaw|1<<CapDacReadSearch {
		t.Errorf("usable = %#x", uint64(got))
	}
	if CapDacReadSearch.String() != "CAP_DAC_READ_SEARCH" || Cap(40).String() != "capability 40" {
		t.Error("String")
	}
}

func TestSetNames(t *testing.T) {
	got := Set(1<<CapNetRaw).Names(CapNetRaw, CapSysPtrace)
	if len(got) != 2 || !got["CAP_NET_RAW"] || got["CAP_SYS_PTRACE"] {
		t.Errorf("Names = %v", got)
	}
}
