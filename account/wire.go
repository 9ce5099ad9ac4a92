package account

import (
	"time"

	"github.com/gameauth/gameauth/federated"
)

// The wire types of docs/API.md: requests in snake_case, answers in
// PascalCase. They live on the handler's side only; the service speaks the
// domain types of types.go.

// deviceFields are docs/API.md's device info, plus an optional IANA time zone.
type deviceFields struct {
	Platform       string `json:"platform"`
	DeviceID       string `json:"device_id"`
	DeviceModel    string `json:"device_model"`
	DeviceOS       string `json:"device_os"`
	DeviceLanguage string `json:"device_language"`
	Timezone       string `json:"timezone"`
}

type emailRequest struct {
	LinkedID       string `json:"linked_id"`
	LinkedPassword string `json:"linked_password"`
	Nickname       string `json:"nickname"`
	deviceFields
}

type guestRequest struct {
	GuestKey string `json:"guest_key"`
	deviceFields
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
	deviceFields
}

type statusRequest struct {
	AccessToken string `json:"access_token"`
	Timezone    string `json:"timezone"`
}

type signOutRequest struct {
	All bool `json:"all"`
}

type linkRequest struct {
	LinkedID       string `json:"linked_id"`
	LinkedPassword string `json:"linked_password"`
	Timezone       string `json:"timezone"`
}

type passwordRequest struct {
	LinkedPassword string `json:"linked_password"`
	NewPassword    string `json:"new_password"`
}

type resetRequest struct {
	LinkedID    string `json:"linked_id"`
	Code        string `json:"code"`
	NewPassword string `json:"new_password"`
}

type nicknameRequest struct {
	Nickname string `json:"nickname"`
}

type withdrawRequest struct {
	Period int    `json:"period"`
	Memo   string `json:"memo"`
}

type keyRequest struct {
	WithdrawalKey string `json:"withdrawal_key"`
	BlockKey      string `json:"block_key"`
	deviceFields
}

// federatedRequest is a platform sign-in or link: the provider's name and
// the credential fields of docs/API.md (federated.Credential's JSON names),
// with device info for a sign-in.
type federatedRequest struct {
	Provider string `json:"provider"`
	federated.Credential
	deviceFields
}

// noBody is the request of an endpoint that takes no fields.
type noBody struct{}

type statusOnly struct {
	Status string `json:"Status"`
}

// playerJSON is docs/API.md's Player object.
type playerJSON struct {
	UserUniqueID               string  `json:"UserUniqueID"`
	OpenID                     string  `json:"OpenID"`
	Nickname                   string  `json:"Nickname"`
	LinkedID                   string  `json:"LinkedID"`
	LinkedType                 string  `json:"LinkedType"`
	PurchaseCount              int64   `json:"PurchaseCount"`
	PurchaseCurrencyCode       string  `json:"PurchaseCurrencyCode"`
	PurchaseTotalPrice         float64 `json:"PurchaseTotalPrice"`
	PurchaseVoidedCount        int64   `json:"PurchaseVoidedCount"`
	PurchaseVoidedCurrencyCode string  `json:"PurchaseVoidedCurrencyCode"`
	PurchaseVoidedTotalPrice   float64 `json:"PurchaseVoidedTotalPrice"`
	Country                    string  `json:"Country"`
	Timezone                   string  `json:"Timezone"`
	Offset                     int     `json:"Offset"`
	JoinPeriod                 int     `json:"JoinPeriod"`
}

func playerBody(p Player) playerJSON {
	return playerJSON{
		UserUniqueID:               p.UserUniqueID,
		OpenID:                     p.OpenID,
		Nickname:                   p.Nickname,
		LinkedID:                   p.LinkedID,
		LinkedType:                 p.LinkedType,
		PurchaseCount:              p.Purchases.Count,
		PurchaseCurrencyCode:       p.Purchases.CurrencyCode,
		PurchaseTotalPrice:         p.Purchases.TotalPrice,
		PurchaseVoidedCount:        p.Purchases.VoidedCount,
		PurchaseVoidedCurrencyCode: p.Purchases.VoidedCurrencyCode,
		PurchaseVoidedTotalPrice:   p.Purchases.VoidedTotalPrice,
		Country:                    p.Country,
		Timezone:                   p.Timezone,
		Offset:                     p.Offset,
		JoinPeriod:                 p.JoinPeriod,
	}
}

// tokenResponse is docs/API.md's TokenResponse.
type tokenResponse struct {
	Token struct {
		AccessToken  string `json:"AccessToken"`
		RefreshToken string `json:"RefreshToken"`
		ExpiresIn    int64  `json:"ExpiresIn"`
	} `json:"Token"`
	Player   playerJSON `json:"Player"`
	GuestKey string     `json:"GuestKey,omitempty"`
}

func grantBody(g *Grant) tokenResponse {
	var r tokenResponse
	r.Token.AccessToken = g.AccessToken
	r.Token.RefreshToken = g.RefreshToken
	r.Token.ExpiresIn = int64(g.ExpiresIn / time.Second)
	r.Player = playerBody(g.Player)
	r.GuestKey = g.GuestKey
	return r
}

type statusResponse struct {
	Status    string     `json:"Status"`
	ExpiresAt string     `json:"ExpiresAt"`
	Player    playerJSON `json:"Player"`
}

type nicknameResponse struct {
	Nickname string `json:"Nickname"`
}

type withdrawResponse struct {
	Status         string `json:"Status"`
	WithdrawalKey  string `json:"WithdrawalKey"`
	WithdrawalDate string `json:"WithdrawalDate"`
}

type searchResponse struct {
	Status         string `json:"Status"`
	Memo           string `json:"Memo"`
	WithdrawalDate string `json:"WithdrawalDate"`
}

// blockItem is one item of docs/API.md's /block/reason answer.
type blockItem struct {
	UserID          string   `json:"UserId"`
	Reason          string   `json:"Reason"`
	Permanent       string   `json:"Permanent"`
	ExpireDate      string   `json:"ExpireDate"`
	TimeUntilExpire int64    `json:"TimeUntilExpire"`
	Services        []string `json:"Services"`
}

type blockReasonResponse struct {
	Items []blockItem `json:"Items"`
}

func blockItems(notices []BlockNotice) blockReasonResponse {
	items := make([]blockItem, 0, len(notices))
	for _, n := range notices {
		it := blockItem{UserID: n.PlayerID, Reason: n.Reason, Permanent: "Y", ExpireDate: "permanent", TimeUntilExpire: -1, Services: n.Services}
		if !n.Until.IsZero() {
			it.Permanent = "N"
			it.ExpireDate = n.Until.UTC().Format(time.RFC3339)
			it.TimeUntilExpire = int64(n.Remaining / time.Second)
		}
		if it.Services == nil {
			it.Services = []string{}
		}
		items = append(items, it)
	}
	return blockReasonResponse{items}
}

type identityJSON struct {
	LinkedType string `json:"LinkedType"`
	LinkedID   string `json:"LinkedID"`
	LinkedAt   string `json:"LinkedAt"`
}

type identitiesResponse struct {
	Identities []identityJSON `json:"Identities"`
}

func identitiesBody(ids []LinkedIdentity) identitiesResponse {
	out := make([]identityJSON, 0, len(ids))
	for _, i := range ids {
		out = append(out, identityJSON{LinkedType: i.LinkedType, LinkedID: i.LinkedID, LinkedAt: rfc3339(i.LinkedAt)})
	}
	return identitiesResponse{out}
}

// rfc3339 is how times go on the wire.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
