package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// The QR codes are checked with an independent decoder (gozxing, a port of
// ZXing), not against the encoder's own bitmap: the test proves that a
// scanner reads back the printed URL.

// decodeQR reads a QR code from an image.
func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return res.GetText()
}

// halfBlockImage turns the terminal drawing back into pixels, as a phone
// camera would see it: a drawn half-cell is light (or dark when invert), 4
// pixels per module, with a dark margin standing for the terminal around it.
func halfBlockImage(t *testing.T, text string, invert bool) image.Image {
	t.Helper()
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	const scale, margin = 4, 8
	width := len([]rune(lines[0]))
	img := image.NewGray(image.Rect(0, 0, width*scale+2*margin, len(lines)*2*scale+2*margin))
	drawnShade, bg := color.Gray{Y: 255}, color.Gray{Y: 0}
	if invert {
		drawnShade, bg = bg, drawnShade
	}
	for i := range img.Pix {
		img.Pix[i] = bg.Y
	}
	for row, line := range lines {
		runes := []rune(line)
		if len(runes) != width {
			t.Fatalf("line %d is %d cells wide, want %d", row, len(runes), width)
		}
		for x, r := range runes {
			var top, bottom bool
			switch r {
			case ' ':
			case '▀':
				top = true
			case '▄':
				bottom = true
			case '█':
				top, bottom = true, true
			default:
				t.Fatalf("line %d has %q, not a half-block character", row, r)
			}
			for half, drawn := range []bool{top, bottom} {
				if !drawn {
					continue
				}
				for dy := range scale {
					for dx := range scale {
						img.SetGray(margin+x*scale+dx, margin+(row*2+half)*scale+dy, drawnShade)
					}
				}
			}
		}
	}
	return img
}

// historyEnv is a schedEnv whose group g1 exists on the simulator.
func newHistoryEnv(t *testing.T) (*schedEnv, string) {
	e := newSchedEnv(t, 1)
	gid := "5bee7172e4b0f6bbaa32b4bf"
	e.sim.SeedGroup(vendors.Group{ID: gid, Managers: []string{schedOperator},
		Members: []vendors.LiveMember{{ID: schedOperator}, {ID: schedMember}}})
	return e, gid
}

func (e *schedEnv) bind(key, gid string) {
	e.t.Helper()
	store, err := state.Open(e.state)
	if err != nil {
		e.t.Fatal(err)
	}
	defer store.Close()
	if err := store.Bind(context.Background(), state.Binding{Key: key, Provider: "kd", GroupID: gid, Origin: state.OriginCreated}); err != nil {
		e.t.Fatal(err)
	}
}

var historyURL = regexp.MustCompile(`^https://127\.0\.0\.1:\d+/imbu/chat/history\.html\?mid=[0-9a-f]{24}&eid=10109$`)

func TestHistoryPrintsURLAndQR(t *testing.T) {
	e, gid := newHistoryEnv(t)
	e.bind("g1", gid)
	pngPath := filepath.Join(e.dir, "history.png")
	code := e.a.run(context.Background(), []string{"history", "-f", e.manifest, "--state", e.state, "g1", "--png", pngPath})
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, e.stderr)
	}
	out := e.stdout.String()
	link, drawing, ok := strings.Cut(out, "\n\n")
	if !ok || !historyURL.MatchString(link) {
		t.Fatalf("stdout does not start with the history URL and a blank line:\n%s", out)
	}
	if got := decodeQR(t, halfBlockImage(t, drawing, false)); got != link {
		t.Errorf("the terminal QR code reads %q, want %q", got, link)
	}
	lines := strings.Split(strings.TrimRight(drawing, "\n"), "\n")
	if quiet := strings.Repeat("█", len([]rune(lines[0]))); lines[0] != quiet || lines[1] != quiet {
		t.Errorf("no quiet zone at the top:\n%s", drawing)
	}

	data, err := os.ReadFile(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("--png wrote no valid PNG: %v", err)
	}
	if got := decodeQR(t, img); got != link {
		t.Errorf("the PNG QR code reads %q, want %q", got, link)
	}
	if got := e.sim.Calls()["merge"]; got != 1 {
		t.Errorf("merge called %d times, want 1", got)
	}
	if strings.Contains(out+e.stderr.String(), schedToken) {
		t.Error("the token leaked")
	}
}

func TestHistoryInvertedAndPinned(t *testing.T) {
	e, gid := newHistoryEnv(t)
	m, _ := os.ReadFile(e.manifest)
	e.write(strings.Replace(string(m), "    name: Group 1\n", "    name: Group 1\n    groupId: "+gid+"\n", 1))
	code := e.a.run(context.Background(), []string{"history", "-f", e.manifest, "--state", e.state, "--invert", "g1"})
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, e.stderr)
	}
	link, drawing, _ := strings.Cut(e.stdout.String(), "\n\n")
	if got := decodeQR(t, halfBlockImage(t, drawing, true)); got != link || !historyURL.MatchString(link) {
		t.Errorf("the inverted QR code reads %q, link %q", got, link)
	}
}

func TestHistorySandbox(t *testing.T) {
	e := newSchedEnv(t, 0)
	code := e.a.run(context.Background(), []string{"history", "--sandbox", "-f", "../../examples/groups.yaml", "--state", e.state, "legacy-room"})
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, e.stderr)
	}
	link, _, _ := strings.Cut(e.stdout.String(), "\n")
	if !regexp.MustCompile(`^https://www\.yunzhijia\.com/imbu/chat/history\.html\?mid=\w+&eid=10109$`).MatchString(link) {
		t.Errorf("sandbox link = %q", link)
	}
}

func TestHistoryRefusals(t *testing.T) {
	e, _ := newHistoryEnv(t)
	base, _ := os.ReadFile(e.manifest)
	lunkr := strings.Replace(string(base), "groups:\n", `  lk:
    vendor: lunkr
    endpoint: http://127.0.0.1:1/
    token: ${LUNKR_TOKEN}
groups:
  - key: chat
    provider: lk
    name: Chat
    members: [bob@example.com]
`, 1)
	noWorkspace := strings.Replace(string(base), "    workspace: \"10109\"\n", "", 1)
	cases := []struct {
		name, manifest, key, want string
	}{
		{"lunkr", lunkr, "chat", "group chat is on lunkr: lunkr has no message-history API"},
		{"no workspace", noWorkspace, "g1", "provider kd has no workspace: set workspace: to the eid"},
		{"unknown key", string(base), "nope", "no group \"nope\" in the manifest\nhint: Yunzhijia groups in the manifest: g1"},
		{"not created", string(base), "g1", "group g1 is not created yet: the state has no group id for it\nhint: run groupsync apply first"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.write(c.manifest)
			e.stderr.mu.Lock()
			e.stderr.b.Reset()
			e.stderr.mu.Unlock()
			code := e.a.run(context.Background(), []string{"history", "-f", e.manifest, "--state", e.state, c.key})
			if code != exitError || !strings.Contains(e.stderr.String(), c.want) {
				t.Errorf("exit %d, stderr %q, want %q", code, e.stderr, c.want)
			}
		})
	}
	if got := e.sim.Calls()["merge"]; got != 0 {
		t.Errorf("merge called %d times by refused commands", got)
	}
}

// halfBlocks pairs rows: a 3-row bitmap takes two lines, the last row
// paired with a light row.
func TestHalfBlocks(t *testing.T) {
	bits := [][]bool{
		{true, false, true},
		{true, true, false},
		{false, true, true},
	}
	want := " ▀▄\n█▄▄\n" // blocks are light modules
	if got := halfBlocks(bits, false); got != want {
		t.Errorf("halfBlocks = %q, want %q", got, want)
	}
	wantInv := "█▄▀\n ▀▀\n" // blocks are dark modules
	if got := halfBlocks(bits, true); got != wantInv {
		t.Errorf("halfBlocks inverted = %q, want %q", got, wantInv)
	}
}
