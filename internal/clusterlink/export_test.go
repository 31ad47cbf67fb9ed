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

// placeable is, on the leader of JetStream's meta group, the servers a
// stream can be placed on now; nil on the others.
func (s *Server) placeable() []string { return s.ns.JetStreamClusterPeers() }
