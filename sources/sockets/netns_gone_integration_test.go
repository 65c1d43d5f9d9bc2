package sockets

import (
	"context"
	"strconv"
	"testing"
	"time"

	"netriage/internal/lab"
)

// TestIntegrationNetnsDeleted: a namespace whose only process exits and
// whose name is deleted between two refreshes disappears from the table
// without an error, and refreshes go on.
func TestIntegrationNetnsDeleted(t *testing.T) {
	l := lab.New(t)
	ns := l.Netns()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := ns.Command(ctx, "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ino := nsInode(t, ns.Path)
	// ip netns exec enters the namespace, then runs sleep: wait for it.
	for i := 0; i < 100 && nsInode(t, "/proc/"+strconv.Itoa(cmd.Process.Pid)+"/ns/net") != ino; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	src := New(Config{FullScanInterval: 100 * time.Millisecond})
	defer src.Close()
	has := func() (bool, string) {
		tab, err := src.Refresh(time.Now())
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		for _, n := range tab.Namespaces {
			if n.Inode == ino {
				return true, n.Err
			}
		}
		return false, ""
	}
	if ok, e := has(); !ok || e != "" {
		t.Fatalf("namespace %d not in the table (err %q)", ino, e)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	l.DeleteNetns(ns)
	for i := 0; i < 3; i++ {
		if ok, e := has(); ok && i == 2 {
			t.Errorf("namespace %d still listed after its process exited and it was deleted (err %q)", ino, e)
		}
		time.Sleep(150 * time.Millisecond)
	}
}
