package follow

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/fakelog"
	"github.com/certstream/certstream/internal/wire"
)

// simLog is a log that publishes at the given times (ms from 0), each head
// visible visible ms after its timestamp.
type simLog struct {
	pubs    []int64
	visible int64
}

// head is the timestamp of the newest head visible at ms (0: none).
func (l simLog) head(ms int64) uint64 {
	var ts int64
	for _, p := range l.pubs {
		if p+l.visible <= ms {
			ts = p
		}
	}
	return uint64(ts)
}

// every returns publication times every period from phase, up to end.
func every(phase, period, end int64) []int64 {
	var out []int64
	for t := phase; t < end; t += period {
		out = append(out, t)
	}
	return out
}

// poll is one simulated head request: when, and what it found.
type poll struct {
	at     int64         // ms
	head   uint64        // timestamp of the head seen
	wait   time.Duration // what the cadence said to wait, when it was asked
	waited bool
	rehead bool // asked right after catching up, at the fixed interval
	again  bool // a re-poll after a poll in step that came too early
	step   bool // scheduled in step with the log (else at the fixed interval)
}

// reheadAfter is how long a simulated catch-up takes.
const reheadAfter = 30

// simulate polls l from start until end as a caught-up follower does (see
// Follower.Run): observe each head; after a new one, without a cadence, ask
// again right after catching up; else wait as the cadence says. The clock
// is the simulation's (Unix ms from 0), injected through wait's argument.
func simulate(c *cadence, l simLog, start, end int64) []poll {
	var out []poll
	var last uint64
	var next poll // what the next poll is
	for ms := start; ms < end; {
		h := l.head(ms)
		c.observe(h)
		fresh := h > last
		last = max(last, h)
		next.at, next.head = ms, h
		if fresh && !c.inStep() {
			out = append(out, next)
			ms, next = ms+reheadAfter, poll{rehead: true}
			continue
		}
		next.wait = c.wait(time.UnixMilli(ms))
		next.waited = true
		out = append(out, next)
		ms, next = ms+max(1, next.wait.Milliseconds()), poll{again: c.again, step: c.stepped && !c.again}
	}
	return out
}

// checkSpacing fails when scheduled polls (neither right after catching up
// nor a re-poll) come more often than interval: at the fixed interval, less
// than interval after the poll before; in step, on average, over each run of
// them (n+1 in a row must span n intervals, less a fifth of one for the
// log's jitter and half of one for the margin). The first poll in step of a
// run may come sooner after the one before. It also fails when the re-polls
// break their bound: at most one after each scheduled poll, and at any time
// no more than the log earned, one for every repollEvery polls in step.
func checkSpacing(t *testing.T, polls []poll, interval time.Duration, span int64) {
	t.Helper()
	// A fifth of an interval for the log's jitter, half a period for the
	// margin after each publication (here half an interval: a slower log's
	// polls are further apart anyway).
	iv := interval.Milliseconds()
	slack := iv/5 + iv/2
	var run []poll // the polls in step since the last at the fixed interval
	scheduled, stepped, reheads, again, runs := 0, 0, 0, 0, 0
	for i, p := range polls {
		switch {
		case p.again:
			if again++; i == 0 || polls[i-1].again || polls[i-1].rehead {
				t.Fatalf("re-poll at %d ms does not follow a scheduled poll", p.at)
			}
			if most := mostRepolls(stepped); again > most {
				t.Fatalf("re-poll at %d ms: %d re-polls after %d polls in step, more than the %d earned", p.at, again, stepped, most)
			}
		case p.rehead:
			reheads++
		case !p.step:
			scheduled, run = scheduled+1, nil
			if i > 0 && p.at-polls[i-1].at < iv {
				t.Fatalf("polls at %d and %d ms, less than the fixed interval %v apart", polls[i-1].at, p.at, interval)
			}
		default:
			scheduled++
			if stepped++; len(run) == 0 {
				runs++
			}
			for k, q := range run {
				if least := int64(len(run)-k)*iv - slack; p.at-q.at < least {
					t.Fatalf("polls in step at %d and %d ms with %d between: less than %d ms apart",
						q.at, p.at, len(run)-k-1, least)
				}
			}
			run = append(run, p)
		}
	}
	if most := (span+slack)/iv + int64(runs); int64(scheduled) > most {
		t.Fatalf("%d polls in %d ms (besides %d after catching up and %d re-polls), more than the fixed interval's %d",
			scheduled, span, reheads, again, most)
	}
}

// mostRepolls is the most re-polls a log may have made after n polls in step.
func mostRepolls(n int) int { return n / repollEvery }

// spanRepolls is the most re-polls a log may make over a span with n polls
// in step: one after each, those it had in hand and those it earns.
func spanRepolls(n int) int { return min(n, repollBank+n/repollEvery) }

func TestCadenceLocksOntoALogPublishingEverySecondOrThree(t *testing.T) {
	for _, period := range []int64{1000, 3000} {
		t.Run(time.Duration(period*int64(time.Millisecond)).String(), func(t *testing.T) {
			const span = 120_000
			l := simLog{pubs: every(370, period, span), visible: 10}
			c := newCadence(time.Second)
			polls := simulate(c, l, 0, span)
			checkSpacing(t, polls, time.Second, span)
			if got := c.period(); got != time.Duration(period)*time.Millisecond {
				t.Fatalf("learnt period %v, want %d ms", got, period)
			}
			// Once locked, every poll comes minMargin after a publication
			// and finds it: no poll is wasted, none is late.
			late := polls[len(polls)/2:]
			for _, p := range late {
				if since := p.at - int64(p.head); p.head == 0 || since != minMargin.Milliseconds() {
					t.Fatalf("poll at %d ms saw the head of %d ms: %d ms after it, want %v", p.at, p.head, since, minMargin)
				}
			}
			if fixed := int64(span / 1000); period == 3000 && int64(len(polls)) > fixed/2 {
				t.Errorf("%d polls for a log publishing every 3 s, want well under the fixed interval's %d", len(polls), fixed)
			}
		})
	}
}

func TestCadenceFallsBackWhenIrregular(t *testing.T) {
	var pubs []int64
	ms := int64(200)
	for _, d := range []int64{700, 1300, 450, 1900, 1100, 800, 1650, 950, 2300, 600, 1450, 1000, 750} {
		ms += d
		pubs = append(pubs, ms)
	}
	c := newCadence(time.Second)
	for _, p := range simulate(c, simLog{pubs: pubs, visible: 10}, 0, ms+2000) {
		if p.waited && p.wait != time.Second {
			t.Fatalf("poll at %d ms waits %v for an irregular log, want the fixed interval", p.at, p.wait)
		}
	}
	// A log that was regular and turns irregular falls back too.
	regular := every(100, 1000, 10_000)
	c = newCadence(time.Second)
	simulate(c, simLog{pubs: regular, visible: 10}, 0, 10_000)
	if c.period() != time.Second {
		t.Fatalf("period %v before the change", c.period())
	}
	polls := simulate(c, simLog{pubs: append(regular, pubs[0]+10_000, pubs[1]+10_000, pubs[2]+10_000), visible: 10}, 10_000, 14_000)
	if last := polls[len(polls)-1]; last.wait != time.Second || c.period() != 0 {
		t.Errorf("after irregular heads: period %v, last wait %v", c.period(), last.wait)
	}
}

func TestCadenceNeverPollsMoreOftenThanTheFixedInterval(t *testing.T) {
	const span = 60_000
	for _, tc := range []struct {
		name  string
		log   simLog
		locks string // "yes", "no", or "" for either
	}{
		// Asked again right after catching up, such a log shows a new head
		// each time: its period is too short to poll in step with.
		{"publishing every 20 ms", simLog{pubs: every(0, 20, span), visible: 1}, "no"},
		{"publishing every 250 ms", simLog{pubs: every(30, 250, span), visible: 5}, ""},
		{"heads visible 300 ms after their timestamp", simLog{pubs: every(30, 1000, span), visible: 300}, "yes"},
		{"publishing every 900 ms", simLog{pubs: every(0, 900, span), visible: 5}, "yes"},
		{"publishing every 600 ms", simLog{pubs: every(0, 600, span), visible: 5}, "yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCadence(time.Second)
			polls := simulate(c, tc.log, 0, span)
			checkSpacing(t, polls, time.Second, span)
			if locked := map[bool]string{true: "yes", false: "no"}[c.period() != 0]; tc.locks != "" && locked != tc.locks {
				t.Fatalf("period %v: locked %s, want %s", c.period(), locked, tc.locks)
			}
		})
	}
	// A head that shows late makes the margin grow until polls find it:
	// each is first seen within a quarter period of when it shows (a
	// margin that shrinks too far costs a re-poll).
	c := newCadence(time.Second)
	pubs := every(30, 1000, span)
	polls := simulate(c, simLog{pubs: pubs, visible: 300}, 0, span)
	for _, pub := range pubs[len(pubs)-20 : len(pubs)-1] {
		if p, ok := firstSight(polls, pub); !ok || p.at-pub < 300 || p.at-pub > 550 {
			t.Fatalf("the head of %d ms was first seen at %d ms; want 300-550 ms after", pub, p.at)
		}
	}
}

// firstSight returns the first poll that saw the head of pub (ms), or false.
func firstSight(polls []poll, pub int64) (poll, bool) {
	for _, p := range polls {
		if int64(p.head) >= pub {
			return p, true
		}
	}
	return poll{}, false
}

func TestCadenceLocksSoonOntoALogThatStartsPublishing(t *testing.T) {
	// A head published once at 0, then nothing until the log publishes
	// every second from 7,370 ms: the old head is off the cadence. Once
	// lockStamps heads a period apart are in, every head is polled for in
	// its period; the first one after the lock is not skipped.
	const from, end = 7370, 30_000
	pubs := append([]int64{0}, every(from, 1000, end)...)
	c := newCadence(time.Second)
	polls := simulate(c, simLog{pubs: pubs, visible: 10}, 0, end)
	checkSpacing(t, polls, time.Second, end)
	for _, pub := range pubs[lockStamps+1:] {
		if p, ok := firstSight(polls, pub); !ok || p.at-pub > 250 {
			t.Fatalf("the head of %d ms was first seen at %d ms, want within a quarter period", pub, p.at)
		}
	}
}

func TestCadenceRepollsSoonAfterAnEarlyPoll(t *testing.T) {
	// Every second at 370 ms, but the head of 20,370 ms comes 120 ms late:
	// the poll in step, 50 ms after the expected publication, finds the
	// old head.
	const late = 20_490
	pubs := append(every(370, 1000, 20_000), late)
	pubs = append(pubs, every(21_370, 1000, 30_000)...)
	c := newCadence(time.Second)
	polls := simulate(c, simLog{pubs: pubs, visible: 10}, 0, 30_000)
	checkSpacing(t, polls, time.Second, 30_000)
	seen, ok := firstSight(polls, late)
	if !ok {
		t.Fatalf("no poll saw the head of %d ms", late)
	}
	if !seen.again || seen.at-late > 250 {
		t.Fatalf("the head of %d ms was first seen at %d ms (re-poll %v), want a re-poll within a quarter period", late, seen.at, seen.again)
	}
	if c.margin <= minMargin {
		t.Errorf("margin %v after an early poll, want it grown", c.margin)
	}
}

func TestCadenceRepollsAStalledLogOnceAPeriod(t *testing.T) {
	// A log that publishes every second for 20 s, then stops for a minute.
	const stop, end = 20_000, 80_000
	pubs := every(370, 1000, stop)
	c := newCadence(time.Second)
	polls := simulate(c, simLog{pubs: pubs, visible: 10}, 0, end)
	checkSpacing(t, polls, time.Second, end)
	var stalled []poll // from the first poll for the head that never came
	for _, p := range polls {
		if p.at > pubs[len(pubs)-1]+1000 {
			stalled = append(stalled, p)
		}
	}
	if len(stalled) < 2 || !stalled[1].again || stalled[1].at-stalled[0].at > 250 {
		t.Fatalf("after the log stopped, polls %+v; want the first early one re-polled within a quarter period", stalled[:min(2, len(stalled))])
	}
	// Then at most the re-polls it has in hand, one a period.
	periods := (end - stop) / 1000
	if most := periods + spanRepolls(periods) + 1; len(stalled) > most {
		t.Fatalf("%d polls in %d periods of a stalled log, want at most %d", len(stalled), periods, most)
	}
	for i := 1; i < len(stalled); i++ {
		if stalled[i].again && stalled[i-1].again {
			t.Fatalf("re-polls at %d and %d ms in a row", stalled[i-1].at, stalled[i].at)
		}
	}
}

func TestCadencePollsEachHeadOfASlightlyJitteryLog(t *testing.T) {
	// Every second, every other head 15 ms late: the heads are 985 and
	// 1,015 ms apart, and each must still be polled for in its period,
	// though the fixed interval is one second.
	var pubs []int64
	for k := range int64(60) {
		pubs = append(pubs, 370+k*1000+15*(k%2))
	}
	c := newCadence(time.Second)
	polls := simulate(c, simLog{pubs: pubs, visible: 10}, 0, 60_000)
	checkSpacing(t, polls, time.Second, 60_000)
	for _, pub := range pubs[10:] {
		if p, ok := firstSight(polls, pub); !ok || p.at-pub > 250 {
			t.Fatalf("the head of %d ms was first seen at %d ms, want within a quarter period", pub, p.at)
		}
	}
}

func TestCadenceWithJitterStaysWithinBudget(t *testing.T) {
	// A log publishing every second, each head up to 80 ms late, for
	// 2,000 periods; measured after the first 20.
	const periods, warm = 2000, 20_000
	rng := rand.New(rand.NewPCG(14, 1))
	var pubs []int64
	for k := range int64(periods) {
		pubs = append(pubs, 370+k*1000+rng.Int64N(81))
	}
	end := pubs[len(pubs)-1]
	c := newCadence(time.Second)
	polls := simulate(c, simLog{pubs: pubs, visible: 10}, 0, end)
	checkSpacing(t, polls, time.Second, end)
	n := 0
	for _, p := range polls {
		if p.at >= warm {
			n++
		}
	}
	if per := float64(n) / float64((end-warm)/1000); per > 1.1 {
		t.Errorf("%.3f polls a period, want at most 1.1", per)
	}
	var delays []int64
	for _, pub := range pubs {
		if pub < warm {
			continue
		}
		if p, ok := firstSight(polls, pub); ok {
			delays = append(delays, p.at-pub)
		}
	}
	slices.Sort(delays)
	p50, p99 := delays[len(delays)/2], delays[len(delays)*99/100]
	t.Logf("%d polls for %d publications; delay to the poll that saw each p50 %d ms, p99 %d ms", n, len(delays), p50, p99)
	if p99 > 500 {
		t.Errorf("delay from publication to the poll that saw it: p99 %d ms, want well under a period", p99)
	}
}

// TestFollowerPollsInStepWithAFakeLog follows real fake logs (HTTP on
// 127.0.0.1) that publish every second and every three seconds: the
// follower learns the period, and asks for the head no more often than the
// fixed interval would, besides the re-polls it has earned.
func TestFollowerPollsInStepWithAFakeLog(t *testing.T) {
	for _, period := range []time.Duration{time.Second, 3 * time.Second} {
		t.Run(period.String(), func(t *testing.T) {
			t.Parallel()
			_, l := newLog(t, fakelog.StaticCT, fakelog.Faults{}, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				tick := time.NewTicker(period)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
						_ = l.Append(2)
					}
				}
			}()
			f, err := New(Log{Name: t.Name(), URL: l.URL(), Kind: KindStaticCT, PublicKey: l.PublicKey()},
				Config{PollInterval: time.Second, InStep: true}, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			heads := func() int64 { return l.Stats().Requests[fakelog.EndpointCheckpoint] }
			done := make(chan error, 1)
			go func() {
				done <- f.Run(ctx, 1, true, func(context.Context, []*wire.Update, uint64) error { return nil })
			}()
			deadline := time.Now().Add(lockStamps*period + 10*time.Second)
			for f.pace.locked.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if got := time.Duration(f.pace.locked.Load()); got < period*9/10 || got > period*11/10 {
				t.Fatalf("learnt period %v, want about %v", got, period)
			}
			// In step: over the next periods, no more head requests than
			// the fixed interval would make, and the re-polls earned.
			start, before := time.Now(), heads()
			time.Sleep(max(3*time.Second, 2*period))
			n, elapsed := heads()-before, time.Since(start)
			cancel()
			<-done
			fixed := int(elapsed/time.Second) + 1
			if most := fixed + spanRepolls(fixed); n > int64(most) {
				t.Errorf("%d head requests in %v in step, more than the fixed interval's %d and %d re-polls", n, elapsed, fixed, most-fixed)
			}
		})
	}
}
