package server

import "time"

// setClock makes the connections accepted from now on keep time with now,
// which must be the router's clock too.
func (s *Server) setClock(now func() time.Time) {
	s.now = now
	s.SetClientPolicy(s.cfg.Client, s.cfg.ReadLimit)
}
