package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// tflogLogger sends the client's request and answer lines to Terraform's
// provider log. The client never passes the token, but the masks make sure
// it cannot leak through a message or a field value either.
type tflogLogger struct{ token string }

func (l tflogLogger) Debug(ctx context.Context, msg string, keysAndValues ...any) {
	ctx, fields := l.prepare(ctx, keysAndValues)
	tflog.Debug(ctx, msg, fields)
}

// Warn is for what the user should know happened, such as a Retry-After
// longer than the client waits.
func (l tflogLogger) Warn(ctx context.Context, msg string, keysAndValues ...any) {
	ctx, fields := l.prepare(ctx, keysAndValues)
	tflog.Warn(ctx, msg, fields)
}

func (l tflogLogger) prepare(ctx context.Context, keysAndValues []any) (context.Context, map[string]any) {
	if l.token != "" {
		ctx = tflog.MaskMessageStrings(ctx, l.token)
		ctx = tflog.MaskAllFieldValuesStrings(ctx, l.token)
	}
	fields := make(map[string]any, len(keysAndValues)/2)
	for i := 0; i+1 < len(keysAndValues); i += 2 {
		key, ok := keysAndValues[i].(string)
		if !ok {
			key = fmt.Sprint(keysAndValues[i])
		}
		value := keysAndValues[i+1]
		if err, ok := value.(error); ok {
			// Field masks only look at strings.
			value = err.Error()
		}
		fields[key] = value
	}
	return ctx, fields
}
