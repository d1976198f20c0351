package delivery

import (
	"testing"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/endpoints"
)

func TestTagKey(t *testing.T) {
	tests := []struct {
		tags []string
		want endpoints.Key
		ok   bool
	}{
		{[]string{EndpointTag(endpoints.Key{AccountID: 3, ID: 17})}, endpoints.Key{AccountID: 3, ID: 17}, true},
		{[]string{"other", "ep-1-2"}, endpoints.Key{AccountID: 1, ID: 2}, true},
		{nil, endpoints.Key{}, false},
		{[]string{"ep-1-x"}, endpoints.Key{}, false},
		{[]string{"ep-1-2-3"}, endpoints.Key{}, false},
		{[]string{"ep-01-2"}, endpoints.Key{}, false},
	}
	for _, tt := range tests {
		if got, ok := TagKey(tt.tags); got != tt.want || ok != tt.ok {
			t.Errorf("TagKey(%q) = %v, %v; want %v, %v", tt.tags, got, ok, tt.want, tt.ok)
		}
	}
}
