package wecom

import (
	"crypto/rand"
	"math/big"
)

// IsUserID reports whether s is a WeCom userid: 1–64 characters of
// letters, digits and _-.@ (the pages' rule).
func IsUserID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || c == '_' || c == '-' || c == '.' || c == '@') {
			return false
		}
	}
	return true
}

// IsChatID reports whether s is a chatid: 1–32 characters of [0-9a-zA-Z].
func IsChatID(s string) bool {
	if len(s) == 0 || len(s) > MaxChatIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

const chatIDAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// NewChatID returns a random chatid of 32 characters of [0-9a-zA-Z]
// (about 190 bits): groupsync chooses it and journals it before the
// create, so no two creates ever carry one id by chance.
func NewChatID() (string, error) {
	b := make([]byte, MaxChatIDLen)
	n := big.NewInt(int64(len(chatIDAlphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", err
		}
		b[i] = chatIDAlphabet[k.Int64()]
	}
	return string(b), nil
}
