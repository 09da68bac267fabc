package spec

import (
	"gopkg.in/yaml.v3"

	"groupsync/internal/vendors"
)

// The raw types hold one document as written, with the places of its
// values; validate.go turns them into the model.

type rawDoc struct {
	pos       Pos
	version   *yaml.Node
	providers []*rawProvider
	people    []*rawPerson
	groups    []*rawGroup
	lazy      *lazyGroups // the groups read one at a time, when not in groups
}

type rawProvider struct {
	name         scalar
	fields       map[string]Pos // where each non-null field was written
	vendor       scalar
	endpoint     scalar
	token        scalar
	tokenCommand []scalar
	operator     scalar
	workspace    scalar
	rateLimit    float64 // valid only when rateLimitSet
	rateLimitSet bool
	prune        switchVal
	read         scalar
	auth         *rawAuth // nil when auth is absent or not a mapping
	cmdTimeout   scalar   // tokenCommandTimeout
}

// rawAuth is an auth: block as written: its fields in order, checked
// against the vendor's once the vendor is known.
type rawAuth struct {
	pos    Pos
	keys   []scalar          // field names, with their places
	values map[string]scalar // by field name
}

type rawPerson struct {
	handle scalar
	ids    map[Vendor]scalar // the valid strings among the ids given
	given  bool              // some id was written, valid or not
}

type rawGroup struct {
	pos         Pos
	merged      bool // has a (refused) merge key: missing fields are no news
	fields      map[string]Pos
	key         scalar
	provider    scalar
	name        scalar
	owner       scalar
	typ         scalar
	groupID     scalar
	members     []scalar
	memberItems int // items written under members, valid or not
	subscribers []scalar
	previously  []scalar
	prune       switchVal
	notices     []rawNotice
	banners     []rawBanner
}

type rawNotice struct {
	pos            Pos
	title, content scalar
}

type rawBanner struct {
	pos    Pos
	banner Banner
}

var (
	docFields      = []string{"version", "providers", "people", "groups"}
	providerFields = []string{"vendor", "endpoint", "token", "tokenCommand", "tokenCommandTimeout", "auth", "operator", "workspace", "rateLimit", "prune", "read"}
	groupFields    = []string{"key", "provider", "name", "owner", "members", "subscribers", "type", "notices", "banners", "groupId", "previously", "prune"}
	noticeFields   = []string{"title", "content"}
	bannerFields   = []string{"content", "title", "lightAppId", "thumbUrl", "webpageUrl", "primaryContent", "contentUrl"}
)

// document decodes the root of one YAML document. It returns nil for an
// empty document (nothing, or a null root), which is allowed.
func (d *decoder) document(root *yaml.Node) *rawDoc {
	root = deref(root)
	if isNull(root) || (root.Kind == yaml.MappingNode && len(root.Content) == 0) {
		return nil
	}
	doc := &rawDoc{pos: d.pos(root)}
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "a manifest must be a mapping with version, providers, people and groups, not %s", kindName(root))
		return nil
	}
	d.mapping(root, "manifest", docFields, func(k, v *yaml.Node) {
		switch k.Value {
		case "version":
			doc.version = deref(v)
		case "providers":
			d.mapping(v, "providers", nil, func(k, v *yaml.Node) {
				doc.providers = append(doc.providers, d.provider(k, v))
			})
		case "people":
			d.mapping(v, "people", nil, func(k, v *yaml.Node) {
				doc.people = append(doc.people, d.person(k, v))
			})
		case "groups":
			d.list(v, "groups", func(item *yaml.Node) {
				if g := d.group(item); g != nil {
					doc.groups = append(doc.groups, g)
				}
			})
		}
	})
	return doc
}

func (d *decoder) provider(k, v *yaml.Node) *rawProvider {
	p := &rawProvider{name: scalar{val: k.Value, pos: d.pos(k), set: true}, fields: map[string]Pos{}}
	d.mapping(v, "provider "+k.Value, providerFields, func(k, v *yaml.Node) {
		if !isNull(deref(v)) {
			p.fields[k.Value] = d.pos(k)
		}
		switch k.Value {
		case "vendor":
			p.vendor = d.str(v, "vendor")
		case "endpoint":
			p.endpoint = d.str(v, "endpoint")
		case "token":
			p.token = d.str(v, "token")
		case "tokenCommand":
			p.tokenCommand = d.strs(v, "tokenCommand")
			if n := deref(v); n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
				d.errorf(n, "provider %s: tokenCommand is empty: list the program and its arguments", p.name.val)
			}
		case "tokenCommandTimeout":
			p.cmdTimeout = d.str(v, "tokenCommandTimeout")
		case "auth":
			p.auth = d.auth(v, p.name.val)
		case "operator":
			p.operator = d.str(v, "operator")
		case "workspace":
			p.workspace = d.str(v, "workspace")
		case "rateLimit":
			p.rateLimit, p.rateLimitSet = d.number(v, "rateLimit")
		case "prune":
			p.prune = d.boolean(v, "prune")
		case "read":
			p.read = d.str(v, "read")
		}
	})
	return p
}

func (d *decoder) person(k, v *yaml.Node) *rawPerson {
	p := &rawPerson{handle: scalar{val: k.Value, pos: d.pos(k), set: true}, ids: map[Vendor]scalar{}}
	d.mapping(v, "person "+k.Value, vendors.Names(), func(k, v *yaml.Node) {
		p.given = p.given || !isNull(deref(v))
		if s := d.str(v, k.Value+" id"); s.set {
			p.ids[Vendor(k.Value)] = s
		}
	})
	return p
}

func (d *decoder) group(n *yaml.Node) *rawGroup {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "a group must be a mapping, not %s", kindName(n))
		return nil
	}
	g := &rawGroup{pos: d.pos(n), fields: map[string]Pos{}}
	for i := 0; i < len(n.Content); i += 2 {
		g.merged = g.merged || n.Content[i].Tag == "!!merge"
	}
	d.mapping(n, "group", groupFields, func(k, v *yaml.Node) {
		if !isNull(deref(v)) {
			g.fields[k.Value] = d.pos(k)
		}
		d.groupField(g, k.Value, v)
	})
	return g
}

func (d *decoder) groupField(g *rawGroup, field string, v *yaml.Node) {
	switch field {
	case "key":
		g.key = d.str(v, "key")
	case "provider":
		g.provider = d.str(v, "provider")
	case "name":
		g.name = d.str(v, "name")
	case "owner":
		g.owner = d.str(v, "owner")
	case "type":
		g.typ = d.str(v, "type")
	case "groupId":
		g.groupID = d.str(v, "groupId")
	case "members":
		g.members = d.strs(v, "members")
		if n := deref(v); n.Kind == yaml.SequenceNode {
			g.memberItems = len(n.Content)
		}
	case "subscribers":
		g.subscribers = d.strs(v, "subscribers")
	case "previously":
		g.previously = d.strs(v, "previously")
	case "prune":
		g.prune = d.boolean(v, "prune")
	case "notices":
		d.list(v, "notices", func(item *yaml.Node) {
			if r, ok := d.notice(item); ok {
				g.notices = append(g.notices, r)
			}
		})
	case "banners":
		d.list(v, "banners", func(item *yaml.Node) {
			if r, ok := d.banner(item); ok {
				g.banners = append(g.banners, r)
			}
		})
	}
}

// notice decodes one notice; ok is false when it is not a mapping (already
// reported).
func (d *decoder) notice(n *yaml.Node) (r rawNotice, ok bool) {
	r.pos = d.pos(deref(n))
	ok = d.mapping(n, "notice", noticeFields, func(k, v *yaml.Node) {
		if k.Value == "title" {
			r.title = d.str(v, "title")
		} else {
			r.content = d.str(v, "content")
		}
	})
	return r, ok
}

// banner decodes one banner; ok is false when it is not a mapping (already
// reported).
func (d *decoder) banner(n *yaml.Node) (r rawBanner, ok bool) {
	r.pos = d.pos(deref(n))
	b := &r.banner
	dst := map[string]*string{
		"content": &b.Content, "title": &b.Title, "lightAppId": &b.LightAppID, "thumbUrl": &b.ThumbURL,
		"webpageUrl": &b.WebpageURL, "primaryContent": &b.PrimaryContent, "contentUrl": &b.ContentURL,
	}
	ok = d.mapping(n, "banner", bannerFields, func(k, v *yaml.Node) {
		*dst[k.Value] = d.str(v, k.Value).val
	})
	return r, ok
}
