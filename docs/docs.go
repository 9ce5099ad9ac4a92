// Package docs holds the machine-readable form of docs/API.md: the OpenAPI
// 3.1 document of the account handler and the admin API (openapi.yaml),
// embedded so that the handler serves it (GET /openapi.json) and the tests
// check every answer against it.
package docs

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// OpenAPIYAML is docs/openapi.yaml as written.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// OpenAPIJSON returns the document as JSON: YAML's anchors and merge keys
// resolved, mapping keys as strings. It is converted at each call; callers
// keep the result.
func OpenAPIJSON() ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(OpenAPIYAML, &v); err != nil {
		return nil, fmt.Errorf("docs: openapi.yaml: %w", err)
	}
	j, err := jsonValue(v)
	if err != nil {
		return nil, fmt.Errorf("docs: openapi.yaml: %w", err)
	}
	return json.Marshal(j)
}

// jsonValue turns a decoded YAML value into one encoding/json writes: a
// mapping with keys other than strings gets them as strings.
func jsonValue(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			c, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			t[k] = c
		}
		return t, nil
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			c, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = c
		}
		return m, nil
	case []any:
		for i, e := range t {
			c, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			t[i] = c
		}
		return t, nil
	}
	return v, nil
}
