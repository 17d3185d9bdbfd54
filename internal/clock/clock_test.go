package clock

import (
	"testing"
	"time"
)

func TestFake(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(t0)
	ch := f.After(time.Minute)
	select {
	case <-ch:
		t.Fatal("fired early")
	default:
	}
	f.Advance(30 * time.Second)
	select {
	case <-ch:
		t.Fatal("fired early")
	default:
	}
	f.Advance(30 * time.Second)
	if got := <-ch; !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("fired at %v", got)
	}
	if !f.Now().Equal(t0.Add(time.Minute)) {
		t.Fatalf("now %v", f.Now())
	}
}
