// Package blockanswer words API.md's ACCOUNT_BLOCKED and DEVICE_BLOCKED
// answers, so the account handler and the middleware, which both refuse
// blocked players, give clients the same Message and ErrorData.
package blockanswer

import (
	"time"

	"github.com/gameauth/gameauth/storage"
)

// End is when the block ends as clients show it: RFC 3339, or "permanent".
func End(b storage.Block) string {
	if b.Until.IsZero() {
		return "permanent"
	}
	return b.Until.UTC().Format(time.RFC3339)
}

// Message is the answer's Message: "account is blocked until …" or
// "device is blocked permanently".
func Message(b storage.Block) string {
	what := "account"
	if b.Kind == storage.BlockDevice {
		what = "device"
	}
	if b.Until.IsZero() {
		return what + " is blocked permanently"
	}
	return what + " is blocked until " + End(b)
}

// Data is the answer's ErrorData: {uuid, nickname, blockReason, blockDate}
// for a player, {deviceUniqueId} for a device.
func Data(b storage.Block, nickname string) map[string]string {
	if b.Kind == storage.BlockDevice {
		return map[string]string{"deviceUniqueId": b.Subject}
	}
	return map[string]string{
		"uuid":        b.Subject,
		"nickname":    nickname,
		"blockReason": b.Reason,
		"blockDate":   End(b),
	}
}
