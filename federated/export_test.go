package federated

// HookGameCenter has the Game Center provider of s call f with "key" once a
// sign-in has started or joined the fetch of a certificate, and with
// "slot" as a fetch starts waiting for a fetch slot.
func HookGameCenter(s *Set, f func(event string)) { s.providers[GameCenter].(*gameCenter).hook = f }
