// Package chatwoottest holds the reference payload of each upstream event
// (testdata/events, from chatwoot-events.md) and a shape check, for tests
// of every package that builds or reads payloads.
package chatwoottest

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed testdata/events/*.json
var golden embed.FS

// Golden returns the reference payload of event.
func Golden(event string) ([]byte, error) {
	return golden.ReadFile("testdata/events/" + event + ".json")
}

// ShapeDiff compares got with the reference payload of its event: the same
// keys in the same order in every object, and the same JSON kind for every
// value (see nullableScalar). Arrays are compared element
// by element where both have one. It returns "" when they match.
func ShapeDiff(event string, got []byte) string {
	want, err := Golden(event)
	if err != nil {
		return err.Error()
	}
	w, err := decodeOrdered(want)
	if err != nil {
		return "reference: " + err.Error()
	}
	g, err := decodeOrdered(got)
	if err != nil {
		return "payload: " + err.Error()
	}
	var diffs []string
	compare("$", w, g, &diffs)
	return strings.Join(diffs, "\n")
}

type object struct {
	keys   []string
	values map[string]any
}

func decodeOrdered(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return decodeValue(dec)
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := object{values: map[string]any{}}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				o.keys = append(o.keys, k.(string))
				o.values[k.(string)] = v
			}
			_, err := dec.Token()
			return o, err
		case '[':
			var arr []any
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
	}
	return tok, nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case object:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return fmt.Sprintf("%T", v)
}

// nullableScalar: a string|null or int|null field may hold a value on one
// side and null on the other (the data differ); a missing key, an object or
// array in place of null, and a wrong scalar kind are still reported.
func nullableScalar(a, b string) bool {
	scalar := func(k string) bool { return k == "string" || k == "number" }
	return (a == "null" && scalar(b)) || (b == "null" && scalar(a))
}

// freeForm are objects whose keys are data, not schema.
var freeForm = map[string]bool{
	"additional_attributes": true, "custom_attributes": true, "content_attributes": true,
	"auto_assignment_config": true, "external_source_ids": true, "sentiment": true, "initiated_at": true,
	"previous_value": true, "current_value": true,
}

// nullableObjects are keys whose value is an object or null (an unassigned
// conversation, a widget visitor without a conversation).
var nullableObjects = map[string]bool{"assignee": true, "team": true, "current_conversation": true, "contact": true, "sender": true}

// senderForms are the key lists of upstream's person objects: USER_W,
// AGENT_BOT_W, CONTACT_W and their push forms. A sender, typing user or
// assignee may be any one of them, whichever the reference shows.
var senderForms = [][]string{
	{"id", "name", "email", "type"},
	{"id", "name", "type"},
	{"account", "additional_attributes", "avatar", "custom_attributes", "email", "id", "identifier", "name", "phone_number", "thumbnail", "blocked"},
	{"id", "name", "available_name", "avatar_url", "type", "availability_status", "thumbnail"},
	{"id", "name", "avatar_url", "type"},
	{"additional_attributes", "custom_attributes", "email", "id", "identifier", "name", "phone_number", "thumbnail", "blocked", "type"},
}

var unionKeys = map[string]bool{"sender": true, "user": true, "assignee": true}

func isSenderForm(keys []string) bool {
	for _, f := range senderForms {
		if strings.Join(f, ",") == strings.Join(keys, ",") {
			return true
		}
	}
	return false
}

func compare(path string, want, got any, diffs *[]string) {
	kw, kg := kind(want), kind(got)
	last := path[strings.LastIndexAny(path, ".$")+1:]
	if nullableObjects[last] && (kw == "null" || kg == "null") && (kw == "object" || kg == "object") {
		return
	}
	if kw != kg && !nullableScalar(kw, kg) {
		*diffs = append(*diffs, fmt.Sprintf("%s: %s, want %s", path, kind(got), kind(want)))
		return
	}
	switch w := want.(type) {
	case object:
		g := got.(object)
		if freeForm[last] {
			return
		}
		if unionKeys[last] && strings.Join(w.keys, ",") != strings.Join(g.keys, ",") && isSenderForm(w.keys) && isSenderForm(g.keys) {
			return // another form of the union; its keys are checked whole
		}
		if strings.Join(w.keys, ",") != strings.Join(g.keys, ",") {
			*diffs = append(*diffs, fmt.Sprintf("%s: keys %v, want %v", path, g.keys, w.keys))
			return
		}
		for _, k := range w.keys {
			compare(path+"."+k, w.values[k], g.values[k], diffs)
		}
	case []any:
		g := got.([]any)
		if strings.HasSuffix(path, ".changed_attributes") {
			return // one object per changed column: the keys are data
		}
		if len(w) > 0 && len(g) > 0 {
			for i := range g {
				compare(fmt.Sprintf("%s[%d]", path, i), w[min(i, len(w)-1)], g[i], diffs)
			}
		}
	}
}
