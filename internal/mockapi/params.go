package mockapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // image sizes of attachments, as ActiveStorage analyses them
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// params are a request's parameters as Rails builds them: the query string
// merged with the body (JSON, form-urlencoded or multipart), body winning.
// JSON values keep their JSON types (json.Number for numbers); form values
// are strings, nested by Rack's bracket rules; uploaded files are *upload.
type params = map[string]any

// upload is a multipart file part (ActionDispatch::Http::UploadedFile).
type upload struct {
	filename, contentType string
	data                  []byte
}

// readParams parses the request's parameters. A malformed body answers
// 400 as Rails' parameter parsing does; a body of another media type is
// ignored. jsonBody reports a JSON body, the only kind wrap_parameters
// wraps.
func readParams(w http.ResponseWriter, r *http.Request) (p params, jsonBody bool, ok bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			hint(w, fmt.Sprintf("request body over %d bytes; send a smaller body", maxBody))
			writeRailsStatus(w, http.StatusRequestEntityTooLarge)
		} else {
			writeRailsStatus(w, http.StatusBadRequest)
		}
		return nil, false, false
	}
	p = params{}
	if err := parseForm(p, r.URL.RawQuery); err != nil {
		hint(w, "query string: "+err.Error())
		writeRailsStatus(w, http.StatusBadRequest)
		return nil, false, false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, false, true
	}
	ct := r.Header.Get("Content-Type")
	mt, mparams, _ := mime.ParseMediaType(ct)
	var fromBody params
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		fromBody, err = parseJSONBody(body)
		jsonBody = true
	case mt == "application/x-www-form-urlencoded":
		fromBody = params{}
		err = parseForm(fromBody, string(body))
	case mt == "multipart/form-data":
		fromBody, err = parseMultipart(body, mparams["boundary"])
	default:
		hint(w, fmt.Sprintf("request body ignored because Content-Type is %q; send application/json, application/x-www-form-urlencoded or multipart/form-data", ct))
		return p, false, true
	}
	if err != nil {
		hint(w, fmt.Sprintf("request body (%s): %v; fix the body", mt, err))
		writeRailsStatus(w, http.StatusBadRequest)
		return nil, false, false
	}
	for k, v := range fromBody {
		p[k] = v
	}
	return p, jsonBody, true
}

func parseJSONBody(body []byte) (params, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not valid JSON (%w)", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON value; send exactly one JSON object")
	}
	if obj, ok := v.(map[string]any); ok {
		return obj, nil
	}
	return params{}, nil // Rails puts a non-object body under _json, which no route reads
}

// parseForm adds the pairs of an urlencoded string, nested as Rack does.
func parseForm(p params, raw string) error {
	for _, pair := range strings.FieldsFunc(raw, func(r rune) bool { return r == '&' }) {
		k, v, hasValue := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			return fmt.Errorf("invalid %%-encoding in %q", k)
		}
		var value any
		if hasValue {
			s, err := url.QueryUnescape(v)
			if err != nil {
				return fmt.Errorf("invalid %%-encoding in the value of %q", name)
			}
			value = s
		}
		if err := normalizeParam(p, name, value); err != nil {
			return err
		}
	}
	return nil
}

func parseMultipart(body []byte, boundary string) (params, error) {
	if boundary == "" {
		return nil, errors.New("multipart/form-data without a boundary")
	}
	p := params{}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, err
		}
		var v any = string(data)
		if part.FileName() != "" {
			ct := part.Header.Get("Content-Type")
			if ct == "" {
				ct = "application/octet-stream"
			}
			v = &upload{filename: part.FileName(), contentType: ct, data: data}
		}
		if err := normalizeParam(p, part.FormName(), v); err != nil {
			return nil, err
		}
	}
}

var (
	paramHead       = regexp.MustCompile(`\A[\[\]]*([^\[\]]+)\]*`)
	paramArrayChild = regexp.MustCompile(`\A\[\]\[([^\[\]]+)\]\z`)
	paramArrayRest  = regexp.MustCompile(`\A\[\](.+)\z`)
)

// normalizeParam is Rack::QueryParser#normalize_params: "a[b]" nests a
// hash, "a[]" appends to an array, "a[][b]" fills the last hash of an
// array or starts a new one. A name used both ways is an error (Rack's
// ParameterTypeError, a 400).
func normalizeParam(p params, name string, v any) error {
	m := paramHead.FindStringSubmatchIndex(name)
	if m == nil {
		return nil
	}
	k, after := name[m[2]:m[3]], name[m[1]:]
	switch {
	case after == "":
		p[k] = v
	case after == "[":
		p[name] = v
	case after == "[]":
		arr, ok := p[k].([]any)
		if _, exists := p[k]; exists && !ok {
			return fmt.Errorf("expected an array for param %q", k)
		}
		p[k] = append(arr, v)
	case paramArrayChild.MatchString(after) || paramArrayRest.MatchString(after):
		child := after[2:]
		if sm := paramArrayChild.FindStringSubmatch(after); sm != nil {
			child = sm[1]
		}
		arr, ok := p[k].([]any)
		if _, exists := p[k]; exists && !ok {
			return fmt.Errorf("expected an array for param %q", k)
		}
		if n := len(arr); n > 0 {
			if last, isHash := arr[n-1].(map[string]any); isHash && !hasParam(last, child) {
				return normalizeParam(last, child, v)
			}
		}
		fresh := params{}
		if err := normalizeParam(fresh, child, v); err != nil {
			return err
		}
		p[k] = append(arr, fresh)
	default:
		sub, ok := p[k].(map[string]any)
		if _, exists := p[k]; exists && !ok {
			return fmt.Errorf("expected a hash for param %q", k)
		}
		if sub == nil {
			sub = params{}
		}
		if err := normalizeParam(sub, after, v); err != nil {
			return err
		}
		p[k] = sub
	}
	return nil
}

// hasParam is Rack's params_hash_has_key?: "a[b]" looks a then b.
func hasParam(h map[string]any, key string) bool {
	if strings.Contains(key, "[]") {
		return false
	}
	cur := h
	parts := strings.FieldsFunc(key, func(r rune) bool { return r == '[' || r == ']' })
	for i, part := range parts {
		v, ok := cur[part]
		if !ok {
			return false
		}
		if i < len(parts)-1 {
			if cur, ok = v.(map[string]any); !ok {
				return false
			}
		}
	}
	return true
}

// imageSize reads an uploaded image's dimensions, when it is one Go decodes.
func imageSize(data []byte) (w, h *int) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, nil
	}
	return &cfg.Width, &cfg.Height
}
