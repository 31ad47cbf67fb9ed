package clusterlink

// peers is the names of the servers this one has a route with.
func (s *Server) peers() map[string]bool {
	rz, err := s.ns.Routez(nil)
	if err != nil {
		return nil
	}
	names := map[string]bool{}
	for _, r := range rz.Routes {
		names[r.RemoteName] = true
	}
	return names
}

// metaLeader reports whether the server leads JetStream's meta group.
func (s *Server) metaLeader() bool { return s.ns.JetStreamIsLeader() }
