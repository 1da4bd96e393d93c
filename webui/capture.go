package webui

import "net/http"

// addCapture registers the capture download once package capture exists.
func (s *Server) addCapture(mux *http.ServeMux) {}
