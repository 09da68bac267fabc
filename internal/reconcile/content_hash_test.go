package reconcile

import "testing"

// TestContentHashPinned: the content hash of a notice or banner never
// changes, whatever becomes of the types' fields and tags: states hold
// these hashes, and a changed one would post every notice again. The
// hashes were computed by the code that first stored them (json.Marshal
// of the old tagged structs), before the canonical encoding replaced it.
func TestContentHashPinned(t *testing.T) {
	tests := []struct {
		c    Content
		want string
	}{
		{Notice{Title: "值班", Content: "见 wiki"}, "3eb60516ee341692083d730a3d12f75a"},
		{Notice{Title: "Welcome", Content: "Welcome to team 00001."}, "3e8f8e2adae5a54fe2944534c512792c"},
		{Notice{Title: "", Content: ""}, "55ecb695cb1e438eeee52d20bc6d4a88"},
		{Notice{Title: "t", Content: ""}, "cd158b750502925c4c23fecc054acf8c"},
		{Notice{Title: "", Content: "c"}, "961755f661c6ebfa3b17d6401ec61f07"},
		{Notice{Title: "<b>&amp;</b>", Content: "a < b && c > d"}, "38f4de99c9265315424dd04f29179823"},
		{Notice{Title: "quote \" back\\slash", Content: "line1\nline2\ttab\r\x01\x1f"}, "5e8d8d981ebfe14a12bfb73e2ac34fe5"},
		{Notice{Title: "emoji 🎉", Content: "line sep \u2028 para \u2029 end"}, "d7186dbbf098e5a7e538defa0cb80913"},
		{Notice{Title: "bad utf8 \xff\xfe", Content: "nul \x00 del \x7f"}, "26451ba3a69dae04d5687d5a20262770"},
		{Notice{Title: "Ünïcödé", Content: "日本語のテキスト、한국어, العربية"}, "c56a0fa10bc24bf36a84e675e8aace99"},
		{Banner{Content: "", Title: "", LightAppID: "", ThumbURL: "", WebpageURL: "", PrimaryContent: "", ContentURL: ""}, "44136fa355b3678a1146ad16f7e8649e"},
		{Banner{Content: "", Title: "t", LightAppID: "", ThumbURL: "", WebpageURL: "", PrimaryContent: "", ContentURL: ""}, "fd32f01954a82d8192431bf0c8d2fe22"},
		{Banner{Content: "c", Title: "", LightAppID: "", ThumbURL: "", WebpageURL: "", PrimaryContent: "", ContentURL: ""}, "6f96cb74212fa4a20f3ee78318038a1c"},
		{Banner{Content: "c", Title: "t", LightAppID: "101", ThumbURL: "https://x/a.png", WebpageURL: "https://x/?a=1&b=2", PrimaryContent: "p", ContentURL: "https://x/c"}, "6d031421b23dcf3c63bef4ec9c48cb56"},
		{Banner{Content: "", Title: "", LightAppID: "", ThumbURL: "", WebpageURL: "https://example.com/<path>", PrimaryContent: "", ContentURL: ""}, "834074525da74875d5f9d2a16029863f"},
		{Banner{Content: "", Title: "值班表 🎉", LightAppID: "", ThumbURL: "", WebpageURL: "", PrimaryContent: "\u2028", ContentURL: "\xff"}, "5c2938e3c587dec5163b37e811a7eddb"},
		{Banner{Content: "", Title: "", LightAppID: "only app", ThumbURL: "", WebpageURL: "", PrimaryContent: "", ContentURL: ""}, "62d8b5da207d56a4254fe9a84b1c98ed"},
		{Banner{Content: "", Title: "", LightAppID: "", ThumbURL: "thumb", WebpageURL: "", PrimaryContent: "", ContentURL: "curl"}, "386cf22e09e20c346fa90b58a67239da"},
		{Notice{Title: "bs \b ff \f", Content: "\x7fé\u0085"}, "e48dc141a23d61726408e831db816251"},
		{Banner{Content: "\b\f", Title: "", LightAppID: "", ThumbURL: "", WebpageURL: "", PrimaryContent: "x", ContentURL: ""}, "10a6721cd63187fd32d31bfc9740abfe"},
	}
	for _, tt := range tests {
		if got := ContentHash(tt.c); got != tt.want {
			t.Errorf("ContentHash(%#v) = %s, want %s", tt.c, got, tt.want)
		}
	}
}
