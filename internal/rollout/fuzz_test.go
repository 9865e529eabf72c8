package rollout_test

import "testing"

// FuzzReconcile drives random sequences of specs, observations, commands, rollback requests
// and (possibly corrupt) stored status, all chosen by the fuzz input, and checks the same
// invariants as the property test at every reconcile.
func FuzzReconcile(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 3, 1, 2, 9, 0, 7, 1, 1, 4, 0, 0, 2, 5, 1, 1, 0, 3})
	f.Add([]byte("canary with steps and commands and a rollback in the middle"))
	f.Add([]byte{1, 1, 1, 50, 50, 50, 2, 2, 2, 99, 0, 255, 128, 7, 7, 7, 7, 1, 0, 1, 0})
	f.Add([]byte{2, 200, 13, 40, 0, 0, 1, 9, 9, 9, 3, 3, 3, 11, 11, 11, 6, 6, 6, 6})
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := runSequence(bytesChooser(data), 16, func(string, ...any) {}); err != nil {
			t.Fatal(err)
		}
	})
}
