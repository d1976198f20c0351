package delivery

import (
	"encoding/json"
	"reflect"
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

func TestBatchArgsJSON(t *testing.T) {
	b, err := json.Marshal(BatchArgs{IDs: []int64{17, 18, 9000000001}})
	if err != nil || string(b) != `{"ids":"17,18,9000000001"}` {
		t.Fatalf("marshal: %s, %v", b, err)
	}
	tests := []struct {
		in   string
		want IDList
		err  bool
	}{
		{`{"ids":"17,18,9000000001"}`, IDList{17, 18, 9000000001}, false},
		{`{"ids":[17,18]}`, IDList{17, 18}, false}, // jobs stored before the string form
		{`{"ids":""}`, IDList{}, false},
		{`{"ids":"17,x"}`, nil, true},
		{`{"ids":17}`, nil, true},
	}
	for _, tt := range tests {
		var a BatchArgs
		err := json.Unmarshal([]byte(tt.in), &a)
		if (err != nil) != tt.err || (!tt.err && !reflect.DeepEqual(a.IDs, tt.want) && len(a.IDs)+len(tt.want) > 0) {
			t.Errorf("unmarshal %s = %v, %v; want %v (error %v)", tt.in, a.IDs, err, tt.want, tt.err)
		}
	}
}
