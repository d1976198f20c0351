package chatwoot

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestValidateContent(t *testing.T) {
	tests := []struct {
		name, contentType, attrs string
		want                     []string
	}{
		{"plain text", "", ``, nil},
		{"unknown type", "video", ``, []string{"'video' is not a valid content_type"}},
		{"options", "input_select", `{"items":[{"title":"Option 1","value":"option_1"}]}`, nil},
		{"options without items", "input_select", `{}`, []string{"Content attributes At least one item is required."}},
		{"options with a bad key", "input_select", `{"items":[{"title":"a","value":"a","emoji":"x"}]}`, []string{"Content attributes contains invalid keys for items : [:emoji]"}},
		{"form", "form", `{"items":[{"type":"email","name":"email","label":"Email","placeholder":"you@x"}]}`, nil},
		{"cards", "cards", `{"items":[{"title":"T","description":"D","media_url":"https://x/i.png","actions":[{"type":"link","text":"View","uri":"https://x"}]}]}`, nil},
		{"card without actions", "cards", `{"items":[{"title":"T"}]}`, []string{"Content attributes contains items missing actions"}},
		{"card action bad key", "cards", `{"items":[{"title":"T","actions":[{"type":"link","text":"x","href":"y"}]}]}`, []string{"Content attributes contains invalid keys for actions:  [:href]"}},
		{"article", "article", `{"items":[{"title":"T","description":"D","link":"https://x"}]}`, nil},
		{"items not objects", "form", `{"items":["a"]}`, []string{"Content attributes Items should be a hash."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidateContent(tt.contentType, json.RawMessage(tt.attrs)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ValidateContent = %q, want %q", got, tt.want)
			}
		})
	}
}

// The typed attributes must round-trip the seed document's three shapes.
func TestContentAttributesRoundTrip(t *testing.T) {
	for _, raw := range []string{
		`{"items":[{"title":"Option 1","value":"option_1"}],"submitted_values":[{"title":"Option 1","value":"option_1"}]}`,
		`{"items":[{"type":"text","placeholder":"Placeholder","name":"field","label":"Label"}],"submitted_values":[{"name":"field","value":"v"}]}`,
		`{"items":[{"title":"T","media_url":"https://x/i.png","description":"D","actions":[{"type":"link","text":"View More","uri":"https://x"}]}]}`,
	} {
		var attrs ContentAttributes
		if err := json.Unmarshal([]byte(raw), &attrs); err != nil {
			t.Fatal(err)
		}
		var back, orig any
		b, _ := json.Marshal(attrs)
		_ = json.Unmarshal(b, &back)
		_ = json.Unmarshal([]byte(raw), &orig)
		if !reflect.DeepEqual(back, orig) {
			t.Errorf("round trip changed\n%s\nto\n%s", raw, b)
		}
	}
}
