package emit

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/chatwoot"
)

// Command is the `emit` subcommand: build one event (message_created
// unless --event names another) and post it.
func Command(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("emit", flag.ContinueOnError)
	daemonURL := fs.String("daemon", "http://127.0.0.1:8787", "the delivery daemon's address")
	event := fs.String("event", "message_created", "the event to send, any of Chatwoot's 12 ("+strings.Join(chatwoot.AllowedEvents, ", ")+")")
	var o Options
	fs.Int64Var(&o.AccountID, "account", 1, "account id the event belongs to")
	fs.StringVar(&o.AccountName, "account-name", "Acme Inc", "account name written in the payload")
	fs.Int64Var(&o.ConversationID, "conversation", 1, "conversation display id")
	fs.StringVar(&o.Content, "content", "Hi", "message content")
	fs.StringVar(&o.MessageType, "message-type", "incoming", "incoming, outgoing or template")
	fs.StringVar(&o.ContentType, "content-type", "text", "text, input_select, form, cards, article, ...")
	attrs := fs.String("content-attributes", "", `JSON, e.g. '{"items":[{"title":"Yes","value":"yes"}]}' for input_select`)
	fs.BoolVar(&o.Private, "private", false, "a private note")
	key := fs.String("idempotency-key", "", "send an Idempotency-Key so a repeated emit is a no-op")
	show := fs.Bool("print", false, "print the payload sent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *attrs != "" {
		if !json.Valid([]byte(*attrs)) {
			return fmt.Errorf("--content-attributes is not valid JSON: %s", *attrs)
		}
		o.ContentAttributes = json.RawMessage(*attrs)
	}
	payload, err := Payload(*event, o)
	if err != nil {
		return err
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	if *show {
		fmt.Println(string(body))
	}
	res, err := Post(ctx, &http.Client{Timeout: 30 * time.Second}, *daemonURL, o.AccountID, body, *key)
	if err != nil {
		return err
	}
	if ev, ok := payload.(chatwoot.MessageEvent); ok {
		fmt.Printf("%s (message %d, %s %s) → account %d: %d deliveries queued\n", ev.Event, ev.ID, ev.MessageType, ev.ContentType, o.AccountID, res.Deliveries)
	} else {
		fmt.Printf("%s → account %d: %d deliveries queued\n", *event, o.AccountID, res.Deliveries)
	}
	return nil
}
