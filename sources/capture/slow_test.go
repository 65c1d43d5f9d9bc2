package capture

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

func TestSlowFuzzProbe(t *testing.T) {
	var seeds [][]byte
	for _, c := range capFiles() {
		p := writeCap(t, t.TempDir(), c)
		x, _ := os.ReadFile(p)
		seeds = append(seeds, x)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 20000; i++ {
		d := bytes.Clone(seeds[rng.IntN(len(seeds))])
		for j := 0; j < 1+rng.IntN(4); j++ {
			switch rng.IntN(3) {
			case 0:
				d[rng.IntN(len(d))] = byte(rng.IntN(256))
			case 1:
				d = d[:rng.IntN(len(d))+1]
			case 2:
				k := rng.IntN(len(d))
				d[k] = 0xff
			}
		}
		done := make(chan bool)
		go func() {
			fl, err := NewFileReader("x", bytes.NewReader(d))
			if err == nil {
				var m Meta
				for k := 0; k < 100000; k++ {
					if fl.Next(&m) != nil {
						break
					}
				}
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			os.WriteFile("/tmp/hang.bin", d, 0o644)
			t.Fatalf("hang on input %d", i)
		}
	}
}
