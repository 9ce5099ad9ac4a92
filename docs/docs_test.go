package docs_test

import (
	"encoding/json"
	"testing"

	"github.com/gameauth/gameauth/docs"
)

// TestOpenAPIJSON checks the conversion: merge keys resolved (an alias's
// operation carries its own operationId and the canonical one's responses),
// and numeric status keys kept as strings.
func TestOpenAPIJSON(t *testing.T) {
	data, err := docs.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	var alias struct {
		OperationID string         `json:"operationId"`
		Responses   map[string]any `json:"responses"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	if err := json.Unmarshal(doc.Paths["/auth/api/v20240101/email/signup"]["put"], &alias); err != nil {
		t.Fatal(err)
	}
	if alias.OperationID != "emailSignUpV20240101Put" || alias.Responses["201"] == nil || alias.Responses["409"] == nil {
		t.Errorf("the alias's operation is not the canonical one's with its own ID: %+v", alias)
	}
}
