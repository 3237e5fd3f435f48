package server

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"go.yaml.in/yaml/v3"
)

// The API description is written as YAML for people and served as JSON for tools.
//
//go:embed openapi.yaml
var openapiYAML []byte

var openapiJSON = mustJSON(openapiYAML)

func mustJSON(y []byte) []byte {
	var doc any
	if err := yaml.Unmarshal(y, &doc); err != nil {
		panic(fmt.Sprintf("openapi.yaml: %v", err))
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("openapi.yaml as JSON: %v", err))
	}
	return b
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiJSON)
}
