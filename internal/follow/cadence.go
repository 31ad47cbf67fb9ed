package follow

import (
	"sync/atomic"
	"time"
)

// cadence learns when a log publishes, from the timestamps of the tree heads
// (or checkpoints) it serves, so that a caught-up follower polls just after
// the log's next expected publication instead of at a fixed interval. Most
// logs publish on a steady cadence (static-ct logs about every second); a
// log without one is polled at the fixed interval, as before.
//
// Polls in step keep to interval on average: each waits for one expected
// publication, and the publications n+1 of them in a row wait for are at
// least n intervals apart, less a slack for the log's jitter (see slack); a
// publication due sooner is skipped for a later one. (The first poll in step
// once a cadence is learnt waits for the next publication, however soon
// after the last poll at the fixed interval.) A poll in step that finds the
// log's previous head came too early: it is followed by one re-poll, a margin
// later, when the log has one in hand. A log earns one re-poll for every
// repollEvery polls in step, starting with none, and keeps at most
// repollBank; a re-poll is never followed by another. So after n polls in
// step a log has had at most n/repollEvery re-polls, at most 1.1 requests
// per publication waited for, and one that stops publishing is asked once a
// period again after its re-poll.
//
// Only the follower's goroutine calls its methods; locked may be read from
// any.
type cadence struct {
	interval time.Duration // the fixed poll interval
	stamps   []int64       // timestamps (Unix ms) of the last distinct heads, oldest first
	margin   time.Duration // how long after an expected publication to poll
	hits     int           // polls in step in a row that found a new head
	due      time.Time     // the next poll in step waits for a publication no sooner, less slack
	stepped  bool          // the last wait was in step with the log
	expect   int64         // then, the timestamp (Unix ms) of the head it waited for
	early    bool          // the last poll in step found an older head than that
	again    bool          // the last wait was for a re-poll
	credit   int           // re-polls in hand, in repollEvery-ths of one
	locked   atomic.Int64  // the learnt period in ns, 0 while there is none
}

const (
	// cadenceStamps is how many head timestamps are kept; a cadence is
	// learnt once lockStamps of them agree.
	cadenceStamps = 8
	lockStamps    = 4
	// minMargin is the least time between a log's expected publication
	// and the poll for it, and the first margin; a poll that finds no new
	// head doubles the margin (up to half the period), lockHits polls in a
	// row that find one shrink it by a quarter.
	minMargin = 50 * time.Millisecond
	lockHits  = 8
	// A poll in step that finds the old head is followed by one re-poll,
	// if the log has one in hand: a log earns one re-poll for every
	// repollEvery polls in step, from none, and keeps at most repollBank.
	repollEvery = 10
	repollBank  = 3
)

func newCadence(interval time.Duration) *cadence {
	return &cadence{interval: interval, margin: minMargin}
}

// observe records the timestamp (Unix ms) of a head the log served. A poll
// made in step that finds an older head than the one it waited for came too
// early: the margin grows, and the next wait may be for a re-poll.
func (c *cadence) observe(ts uint64) {
	fresh := len(c.stamps) == 0 || int64(ts) > c.stamps[len(c.stamps)-1]
	c.early = false
	if p := c.period(); c.stepped && p > 0 {
		if int64(ts) < c.expect-tolerance(p.Milliseconds()) {
			c.margin = min(2*c.margin, p/2)
			c.hits = 0
			c.early = true
		} else if c.hits++; c.hits >= lockHits {
			c.margin = max(minMargin, c.margin*3/4)
			c.hits = 0
		}
	}
	c.stepped = false
	if !fresh || ts == 0 {
		return
	}
	c.stamps = append(c.stamps, int64(ts))
	if len(c.stamps) > cadenceStamps {
		c.stamps = c.stamps[1:]
	}
	c.locked.Store(int64(c.period()))
}

// period is the log's publication period, or 0 when it has none: when the
// last lockStamps or more timestamps are not spaced by whole multiples of
// one period (give or take a fifth of it, and at least 20 ms), and the last
// lockStamps are not one period apart each either; or when that period is
// shorter than half the fixed interval: polling in step with a log that
// publishes more often than it is polled gains nothing. The heads a
// follower asks for right after catching up, at the fixed interval, show
// such a log's short period. The second rule locks onto a log that starts
// publishing after a pause, or that a follower saw before it started,
// without waiting for the older heads to leave the window.
func (c *cadence) period() time.Duration {
	if len(c.stamps) < lockStamps {
		return 0
	}
	p := c.spacing(c.stamps, false)
	if p == 0 {
		p = c.spacing(c.stamps[len(c.stamps)-lockStamps:], true)
	}
	return time.Duration(p) * time.Millisecond
}

// spacing returns the period, in ms, of timestamps spaced by whole
// multiples of it (by one period each, if single), or 0.
func (c *cadence) spacing(stamps []int64, single bool) int64 {
	var p int64
	for i := 1; i < len(stamps); i++ {
		d := stamps[i] - stamps[i-1]
		if p == 0 || d < p {
			p = d
		}
	}
	if p <= 0 || time.Duration(p)*time.Millisecond < c.interval/2 {
		return 0
	}
	tol := tolerance(p)
	for i := 1; i < len(stamps); i++ {
		d := stamps[i] - stamps[i-1]
		k := (d + p/2) / p
		if single {
			k = 1
		}
		if diff := d - k*p; diff > tol || diff < -tol {
			return 0
		}
	}
	return p
}

// tolerance is how far, in ms, a timestamp may be from the cadence of
// period p ms and still be on it.
func tolerance(p int64) int64 { return max(p/5, 20) }

// wait returns how long a caught-up follower waits, at now, before its next
// head request: until margin after the log's next expected publication, or
// interval when the log has no cadence. After a poll in step that came
// too early, it is the margin (at least minMargin, at most a quarter
// period) for one re-poll instead, when the log has one in hand.
//
// The publications polls in step wait for are paced like polls at the
// fixed interval, with a slack for the log's jitter; one due sooner is
// skipped for a later one.
func (c *cadence) wait(now time.Time) time.Duration {
	p := c.period()
	if p == 0 {
		// Polls in step are paced from the first one once the log has a
		// cadence, which is not put off to keep its distance from a poll
		// at the fixed interval: it waits for the next publication.
		c.stepped, c.again, c.due = false, false, time.Time{}
		return c.interval
	}
	if c.early && !c.again && c.credit >= repollEvery {
		// The same publication waited for: not a poll in step of its own.
		c.credit -= repollEvery
		c.stepped, c.again = true, true
		return min(max(c.margin, minMargin), p/4)
	}
	c.again = false
	c.credit = min(c.credit+1, repollBank*repollEvery)
	earliest := c.due.Add(-c.slack(p))
	pub := time.UnixMilli(c.stamps[len(c.stamps)-1]).Add(p)
	if pub.Before(earliest) {
		pub = pub.Add((earliest.Sub(pub) + p - 1) / p * p)
	}
	c.due = later(c.due, pub).Add(c.interval)
	c.stepped, c.expect = true, pub.UnixMilli()
	// Behind the schedule (a long catch-up): poll now, then in step again.
	return max(0, pub.Add(c.margin).Sub(now))
}

// slack is how much sooner than due the publication a poll in step with a
// log of period p waits for may be: the jitter a log on its cadence may have
// (see tolerance), at most a fifth of the interval. The polls themselves
// come a margin after their publications, a margin that varies from
// minMargin to p/2.
func (c *cadence) slack(p time.Duration) time.Duration {
	return min(time.Duration(tolerance(p.Milliseconds()))*time.Millisecond, c.interval/5)
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// inStep reports whether the log has a cadence to poll in step with.
func (c *cadence) inStep() bool { return c.period() > 0 }
