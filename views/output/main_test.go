package output

import (
	"os"
	"testing"
	"time"
)

// TestMain pins the local zone: links' table shows local times.
func TestMain(m *testing.M) {
	time.Local = time.UTC
	os.Exit(m.Run())
}
