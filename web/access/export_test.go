package access

// connections returns the streaming connections c has admitted.
func (c *Controller) connections() int {
	c.conns.mu.Lock()
	defer c.conns.mu.Unlock()
	return c.conns.total
}

// size returns the number of buckets held.
func (b *buckets) size() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}
