package admin

import (
	"github.com/gameauth/gameauth/account"
)

// The player page's shapes: docs/API.md's PascalCase, times in RFC 3339.

type accountJSON struct {
	playerJSON
	Country                    string  `json:"Country"`
	Timezone                   string  `json:"Timezone"`
	UpdatedAt                  string  `json:"UpdatedAt"`
	HasPassword                bool    `json:"HasPassword"`
	PurchaseCount              int64   `json:"PurchaseCount"`
	PurchaseCurrencyCode       string  `json:"PurchaseCurrencyCode"`
	PurchaseTotalPrice         float64 `json:"PurchaseTotalPrice"`
	PurchaseVoidedCount        int64   `json:"PurchaseVoidedCount"`
	PurchaseVoidedCurrencyCode string  `json:"PurchaseVoidedCurrencyCode"`
	PurchaseVoidedTotalPrice   float64 `json:"PurchaseVoidedTotalPrice"`
}

type identityJSON struct {
	LinkedType string `json:"LinkedType"`
	LinkedID   string `json:"LinkedID"`
	LinkedAt   string `json:"LinkedAt"`
}

type sessionJSON struct {
	SessionID   string `json:"SessionID"`
	DeviceID    string `json:"DeviceID"`
	Platform    string `json:"Platform"`
	DeviceModel string `json:"DeviceModel"`
	ClientAddr  string `json:"ClientAddr"`
	CreatedAt   string `json:"CreatedAt"`
	RefreshedAt string `json:"RefreshedAt"`
	ExpiresAt   string `json:"ExpiresAt"`
	State       string `json:"State"`
}

type blockJSON struct {
	BlockKey  string   `json:"BlockKey"`
	Kind      string   `json:"Kind"`
	Subject   string   `json:"Subject"`
	Reason    string   `json:"Reason"`
	Services  []string `json:"Services"`
	CreatedAt string   `json:"CreatedAt"`
	// Until is when it ends, "permanent" for never.
	Until    string `json:"Until"`
	LiftedAt string `json:"LiftedAt"`
	InForce  bool   `json:"InForce"`
}

type withdrawalJSON struct {
	RequestedAt string `json:"RequestedAt"`
	Deadline    string `json:"Deadline"`
	Memo        string `json:"Memo"`
}

type recordJSON struct {
	Player     accountJSON     `json:"Player"`
	Identities []identityJSON  `json:"Identities"`
	Sessions   []sessionJSON   `json:"Sessions"`
	Blocks     []blockJSON     `json:"Blocks"`
	Withdrawal *withdrawalJSON `json:"Withdrawal"`
}

func recordBody(rec *account.PlayerRecord) recordJSON {
	p := rec.Player
	out := recordJSON{
		Player: accountJSON{
			playerJSON: playerBody(p.PlayerSummary), Country: p.Country, Timezone: p.Timezone,
			UpdatedAt: rfc3339(p.UpdatedAt), HasPassword: p.HasPassword,
			PurchaseCount: p.Purchases.Count, PurchaseCurrencyCode: p.Purchases.CurrencyCode,
			PurchaseTotalPrice: p.Purchases.TotalPrice, PurchaseVoidedCount: p.Purchases.VoidedCount,
			PurchaseVoidedCurrencyCode: p.Purchases.VoidedCurrencyCode, PurchaseVoidedTotalPrice: p.Purchases.VoidedTotalPrice,
		},
		Identities: []identityJSON{}, Sessions: []sessionJSON{}, Blocks: []blockJSON{},
	}
	for _, i := range rec.Identities {
		out.Identities = append(out.Identities, identityJSON{LinkedType: i.LinkedType, LinkedID: i.LinkedID, LinkedAt: rfc3339(i.LinkedAt)})
	}
	for _, s := range rec.Sessions {
		out.Sessions = append(out.Sessions, sessionJSON{SessionID: s.SessionID, DeviceID: s.DeviceID, Platform: s.Platform,
			DeviceModel: s.DeviceModel, ClientAddr: s.ClientAddr, CreatedAt: rfc3339(s.CreatedAt),
			RefreshedAt: rfc3339(s.RefreshedAt), ExpiresAt: rfc3339(s.ExpiresAt), State: s.State})
	}
	for _, b := range rec.Blocks {
		until := "permanent"
		if !b.Until.IsZero() {
			until = rfc3339(b.Until)
		}
		services := b.Services
		if services == nil {
			services = []string{}
		}
		out.Blocks = append(out.Blocks, blockJSON{BlockKey: b.Key, Kind: string(b.Kind), Subject: b.Subject, Reason: b.Reason,
			Services: services, CreatedAt: rfc3339(b.CreatedAt), Until: until, LiftedAt: rfc3339(b.LiftedAt), InForce: b.InForce})
	}
	if w := rec.Withdrawal; w != nil {
		out.Withdrawal = &withdrawalJSON{RequestedAt: rfc3339(w.RequestedAt), Deadline: rfc3339(w.Deadline), Memo: w.Memo}
	}
	return out
}
