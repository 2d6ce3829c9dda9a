package sandbox

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// messageItem is one item of GET /v1/whatsapp/messages, and the shape of a
// message's reply.
type messageItem struct {
	ID              string    `json:"id"`
	MessageID       *string   `json:"message_id"` // provider wamid; null while pending or failed
	ConversationID  string    `json:"conversation_id"`
	IsOutbound      bool      `json:"is_outbound"`
	MessageType     string    `json:"message_type"`
	Content         rawObject `json:"content"`
	CreatedAt       time.Time `json:"created_at"`
	PairedMessageID *string   `json:"paired_message_id"`
	// Status is left out (empty) under Faults.ListWithoutStatus.
	Status       string     `json:"status,omitempty"`
	ErrorCode    *errorCode `json:"error_code,omitempty"`
	ErrorMessage *string    `json:"error_message,omitempty"`
	// Error or Reason holds them instead under Faults.DerivedError or
	// Faults.DerivedReason.
	Error  *derivedError `json:"error,omitempty"`
	Reason *derivedError `json:"reason,omitempty"`
}

// derivedError is a failure's reason as one "error" or "reason" object
// (Faults.DerivedError, Faults.DerivedReason).
type derivedError struct {
	Code    *errorCode `json:"code"`
	Message *string    `json:"message"`
}

// errorCode is a failure's error_code: a string, or a number under
// Faults.NumericErrorCodes when it is all digits, as Meta's codes are.
type errorCode struct {
	code   string
	number bool
}

func (e *errorCode) MarshalJSON() ([]byte, error) {
	if e.number {
		return []byte(e.code), nil
	}
	return json.Marshal(e.code)
}

// messageDetail is WaMessageDetail. Briq shows status, provider_message_id
// and reply; the other fields are the sandbox's reading of the rest.
type messageDetail struct {
	ID                string        `json:"id"`
	ConversationID    string        `json:"conversation_id"`
	IsOutbound        bool          `json:"is_outbound"`
	MessageType       string        `json:"message_type"`
	Content           rawObject     `json:"content"`
	Status            string        `json:"status"`
	ProviderMessageID *string       `json:"provider_message_id"`
	CreatedAt         time.Time     `json:"created_at"`
	PairedMessageID   *string       `json:"paired_message_id"`
	ErrorCode         *errorCode    `json:"error_code,omitempty"`
	ErrorMessage      *string       `json:"error_message,omitempty"`
	Error             *derivedError `json:"error,omitempty"`
	Reason            *derivedError `json:"reason,omitempty"`
	Reply             *messageItem  `json:"reply"`
}

type page[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// status is m's delivery status at now: outbound messages move from
// pending through sent and delivered to read by age; failed ones stay
// failed; inbound ones are received.
func (s *Server) status(m *message, now time.Time) string {
	if !m.Outbound {
		return "received"
	}
	if m.Code != "" {
		return "failed"
	}
	d, age := s.cfg.StatusDelays, now.Sub(m.At)
	switch {
	case m.LateCode != "" && age >= d.Delivered:
		return "failed"
	case age >= d.Read:
		return "read"
	case age >= d.Delivered:
		return "delivered"
	case age >= d.Sent, m.SentNow:
		return "sent"
	}
	return "pending"
}

// wamid is m's provider id once the provider has it.
func (s *Server) wamid(m *message, status string) *string {
	if status == "pending" || status == "failed" {
		return nil
	}
	id := "wamid." + strings.ToUpper(strings.ReplaceAll(m.ID, "-", ""))
	return &id
}

func (s *Server) item(m *message, now time.Time) messageItem {
	status := s.status(m, now)
	it := messageItem{
		ID: m.ID, MessageID: s.wamid(m, status), ConversationID: m.Conv, IsOutbound: m.Outbound,
		MessageType: m.Kind, Content: m.Content, CreatedAt: m.At, Status: status,
	}
	if m.Paired != "" {
		it.PairedMessageID = &m.Paired
	}
	switch {
	case m.Code != "":
		it.ErrorCode, it.ErrorMessage = &errorCode{code: m.Code}, &m.Reason
	case status == "failed":
		it.ErrorCode, it.ErrorMessage = &errorCode{code: m.LateCode}, &m.LateReason
	}
	return it
}

// item is s.item(m, now) as c's faults show it.
func (c *call) item(s *Server, m *message, now time.Time) messageItem {
	it := s.item(m, now)
	if c.faults.OpaqueContent && m.Outbound {
		it.Content = append(append(rawObject(`{"sandbox":`), m.Content...), '}')
	}
	if e := it.ErrorCode; e != nil && c.faults.NumericErrorCodes {
		_, err := strconv.ParseUint(e.code, 10, 64)
		e.number = err == nil
	}
	if it.ErrorCode != nil && (c.faults.DerivedError || c.faults.DerivedReason) {
		d := &derivedError{Code: it.ErrorCode, Message: it.ErrorMessage}
		if c.faults.DerivedReason {
			it.Reason = d
		} else {
			it.Error = d
		}
		it.ErrorCode, it.ErrorMessage = nil, nil
	}
	return it
}

// getMessage is GET /v1/whatsapp/messages/{message_id}. An unknown id is
// 404 MESSAGE_NOT_FOUND (Briq does not document this case), as is an
// answer that has not arrived yet.
func (s *Server) getMessage(w http.ResponseWriter, r *http.Request, c *call) {
	id := strings.ToLower(r.PathValue("message_id"))
	if !isUUID(id) {
		c.failWith(w, http.StatusUnprocessableEntity, nil, fieldError("message_id", "message_id must be a uuid"))
		return
	}
	now := s.Now()
	s.st.mu.RLock()
	m := s.st.msgByID[id]
	if m == nil || !m.visible(now) {
		s.st.mu.RUnlock()
		c.fail(w, http.StatusNotFound, codeMessageNotFound, "message "+id+" not found", "message_id")
		return
	}
	it := c.item(s, m, now)
	d := messageDetail{
		ID: it.ID, ConversationID: it.ConversationID, IsOutbound: it.IsOutbound, MessageType: it.MessageType,
		Content: it.Content, Status: it.Status, ProviderMessageID: it.MessageID, CreatedAt: it.CreatedAt,
		PairedMessageID: it.PairedMessageID, ErrorCode: it.ErrorCode, ErrorMessage: it.ErrorMessage, Error: it.Error, Reason: it.Reason,
	}
	if m.reply != nil && m.reply.visible(now) {
		reply := s.item(m.reply, now)
		d.Reply = &reply
	}
	s.st.mu.RUnlock()
	c.ok(w, http.StatusOK, d)
}

// query wraps URL parameters, collecting validation errors.
type query struct {
	v    url.Values
	errs []apiError
}

func (q *query) add(field, format string, args ...any) {
	q.errs = append(q.errs, fieldError(field, format, args...))
}

// intIn returns the integer parameter name, def when absent; hi < 0 means
// no upper bound.
func (q *query) intIn(name string, def, lo, hi int) int {
	s := q.v.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	switch {
	case hi < 0 && (err != nil || n < lo):
		q.add(name, "%s must be an integer of at least %d", name, lo)
	case hi >= 0 && (err != nil || n < lo || n > hi):
		q.add(name, "%s must be an integer from %d to %d", name, lo, hi)
	default:
		return n
	}
	return def
}

func (q *query) offset() int { return q.intIn("offset", 0, 0, -1) }

func (q *query) uuid(name string) string {
	s := q.v.Get(name)
	if s != "" && !isUUID(s) {
		q.add(name, "%s must be a uuid", name)
	}
	return strings.ToLower(s)
}

func (q *query) oneOf(name, def string, allowed ...string) string {
	s := q.v.Get(name)
	if s == "" {
		return def
	}
	if !slices.Contains(allowed, s) {
		q.add(name, "%s must be one of %s", name, strings.Join(allowed, ", "))
	}
	return s
}

func (q *query) time(name string) time.Time {
	s := q.v.Get(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		q.add(name, "%s must be an RFC 3339 date-time", name)
	}
	return t
}

func (q *query) boolean(name string) *bool {
	s := q.v.Get(name)
	if s == "" {
		return nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		q.add(name, "%s must be true or false", name)
	}
	return &b
}

// paginate returns items[offset:offset+limit], clamped.
func paginate[T any](items []T, offset, limit int) []T {
	if offset > len(items) {
		offset = len(items)
	}
	return items[offset:min(offset+limit, len(items))]
}

// listMessages is GET /v1/whatsapp/messages: every message that has
// arrived by now, newest first (ties: later recorded first). since is
// inclusive and until exclusive, which Briq leaves open.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, c *call) {
	q := &query{v: r.URL.Query()}
	convID := q.uuid("conversation_id")
	direction := q.oneOf("direction", "", "inbound", "outbound")
	msgType, status := q.v.Get("message_type"), q.v.Get("status")
	since, until := q.time("since"), q.time("until")
	limit := q.intIn("limit", 100, 1, 200)
	offset := q.offset()
	if len(q.errs) > 0 {
		c.failWith(w, http.StatusUnprocessableEntity, nil, q.errs...)
		return
	}
	now := s.Now()
	var items []messageItem
	s.st.mu.RLock()
	msgs := s.st.all
	if convID != "" {
		msgs = nil
		if conv := s.st.convByID[convID]; conv != nil {
			msgs = conv.msgs
		}
	}
	var match []*message
	for _, m := range msgs {
		switch {
		case !m.visible(now),
			c.faults.ListActiveOnly && !isOpen(s.st.convByID[m.Conv], now, s.cfg.MetaWindowRule),
			direction == "inbound" && m.Outbound,
			direction == "outbound" && !m.Outbound,
			msgType != "" && m.Kind != msgType,
			!since.IsZero() && m.At.Before(since),
			!until.IsZero() && !m.At.Before(until),
			status != "" && s.status(m, now) != status:
			continue
		}
		match = append(match, m)
	}
	slices.SortFunc(match, func(a, b *message) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq)
	})
	for _, m := range paginate(match, offset, limit) {
		it := c.item(s, m, now)
		if c.faults.ListWithoutStatus {
			it.Status, it.ErrorCode, it.ErrorMessage = "", nil, nil
		}
		items = append(items, it)
	}
	s.st.mu.RUnlock()
	if items == nil {
		items = []messageItem{}
	}
	c.ok(w, http.StatusOK, page[messageItem]{Items: items, Total: len(match), Limit: limit, Offset: offset})
}

// conversationItem is G2's conversation object.
type conversationItem struct {
	ID                 string      `json:"id"`
	SenderID           string      `json:"sender_id"`
	RecipientPhone     string      `json:"recipient_phone"`
	IsActive           bool        `json:"is_active"`
	UnreadCount        int         `json:"unread_count"`
	ContactProfileName *string     `json:"contact_profile_name"`
	LastMessageAt      *time.Time  `json:"last_message_at"`
	Window             *windowItem `json:"window,omitempty"` // nil in G1's shape
	CreatedAt          time.Time   `json:"created_at"`
	UpdatedAt          time.Time   `json:"updated_at"`
}

type windowItem struct {
	Open      bool       `json:"open"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (c *conversation) item(now time.Time, meta bool) conversationItem {
	open, expires := c.window(now, meta)
	it := conversationItem{
		ID: c.ID, SenderID: c.Sender, RecipientPhone: c.Recipient, IsActive: open,
		Window: &windowItem{Open: open}, CreatedAt: c.Created, UpdatedAt: c.Created,
	}
	if !expires.IsZero() {
		it.Window.ExpiresAt = &expires
	}
	for _, m := range c.msgs {
		if !m.visible(now) {
			continue
		}
		if !m.Outbound {
			// The sandbox has no mark-read endpoint, so every arrived
			// inbound message stays unread.
			it.UnreadCount++
		}
		if it.LastMessageAt == nil || m.At.After(*it.LastMessageAt) {
			at := m.At
			it.LastMessageAt, it.UpdatedAt = &at, at
		}
	}
	return it
}

// listConversations is G2 GET /v1/whatsapp/conversations, most recently
// active first (Briq does not document the order).
func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, c *call) {
	q := &query{v: r.URL.Query()}
	senderID := q.uuid("sender_id")
	recipient := q.v.Get("recipient")
	if n := len(recipient); recipient != "" && (n < 4 || n > 20) {
		q.add("recipient", "recipient must be 4 to 20 characters")
	}
	status := q.oneOf("status", "all", "all", "open", "unread")
	limit := q.intIn("limit", 50, 1, 100)
	offset := q.offset()
	if len(q.errs) > 0 {
		c.failWith(w, http.StatusUnprocessableEntity, nil, q.errs...)
		return
	}
	recipient = normalizePhone(recipient)
	if c.faults.G1Conversations {
		recipient, status = "", "all" // filters G1 does not document
	}
	now := s.Now()
	var match []conversationItem
	s.st.mu.RLock()
	for _, conv := range s.st.convByID {
		if senderID != "" && conv.Sender != senderID || recipient != "" && conv.Recipient != recipient || conv.Created.After(now) {
			continue
		}
		it := conv.item(now, s.cfg.MetaWindowRule)
		if status == "open" && !it.Window.Open || status == "unread" && it.UnreadCount == 0 {
			continue
		}
		match = append(match, it)
	}
	s.st.mu.RUnlock()
	slices.SortFunc(match, func(a, b conversationItem) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	items := paginate(match, offset, limit)
	if items == nil {
		items = []conversationItem{}
	}
	p := page[conversationItem]{Items: items, Total: len(match), Limit: limit, Offset: offset}
	if !c.faults.G1Conversations {
		c.ok(w, http.StatusOK, p)
		return
	}
	// G1's shape: no envelope, no window, and the number as its guide
	// shows it.
	for i := range items {
		items[i].Window, items[i].RecipientPhone = nil, "+"+items[i].RecipientPhone
	}
	c.write(w, http.StatusOK, p)
}

// listSenders is GET /v1/whatsapp/senders: a bare array, filtered by
// is_active and is_default.
func (s *Server) listSenders(w http.ResponseWriter, r *http.Request, c *call) {
	q := &query{v: r.URL.Query()}
	active, def := q.boolean("is_active"), q.boolean("is_default")
	if len(q.errs) > 0 {
		c.failWith(w, http.StatusUnprocessableEntity, nil, q.errs...)
		return
	}
	items := []Sender{}
	for _, sd := range s.cfg.senders {
		if active != nil && sd.IsActive != *active || def != nil && sd.IsDefault != *def {
			continue
		}
		items = append(items, sd)
	}
	c.write(w, http.StatusOK, items)
}

// templateItem is WaTemplate, with the fields the sandbox can fill.
type templateItem struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Status          string   `json:"status"`
	IsDeleted       bool     `json:"is_deleted"`
	Language        string   `json:"language"`
	Category        string   `json:"category"`
	Params          []string `json:"params"`
	TemplateType    string   `json:"template_type"`
	ParameterFormat string   `json:"parameter_format"`
	CreatedAt       string   `json:"created_at"`
	UpdatedAt       string   `json:"updated_at"`
}

type templatePage struct {
	Items      []templateItem `json:"items"`
	CursorNext *string        `json:"cursor_next"`
	TotalCount int            `json:"total_count"`
}

// matchCache keeps the positions of the templates matching recent filters.
// It holds a few filters at most; a new one beyond that empties it.
type matchCache struct {
	mu sync.Mutex
	m  map[string][]int
}

const matchCacheSize = 16

// get returns the positions for key, computing them with find on a miss.
func (c *matchCache) get(key string, find func() []int) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.m[key]; ok {
		return m
	}
	if c.m == nil || len(c.m) >= matchCacheSize {
		c.m = make(map[string][]int, matchCacheSize)
	}
	m := find()
	c.m[key] = m
	return m
}

// templateAliases are the Meta status names Briq accepts in the filter.
var templateAliases = map[string]string{"PENDING": "IN_REVIEW"}

// listTemplates is GET /v1/whatsapp/templates: a bare
// {items, cursor_next, total_count}, cursor-paged. The cursor is an opaque
// token for an offset into the filtered, sorted list, so it stays valid as
// long as sort and filters do, which Briq asks of clients anyway.
func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, c *call) {
	q := &query{v: r.URL.Query()}
	q.uuid("sender_id")
	sort := q.oneOf("sort", "updated_desc", "updated_desc", "updated_asc", "created_desc", "name_asc", "name_desc")
	limit := q.intIn("limit", 50, 1, 200)
	offset := 0
	if cur := q.v.Get("cursor"); cur != "" {
		if n, err := decodeCursor(cur); err != nil {
			q.add("cursor", "cursor is not one this server issued")
		} else {
			offset = n
		}
	}
	search := q.v.Get("name_or_content")
	if len(search) > 200 {
		q.add("name_or_content", "name_or_content must be at most 200 characters")
	}
	if len(q.errs) > 0 {
		c.failWith(w, http.StatusUnprocessableEntity, nil, q.errs...)
		return
	}
	statuses := q.v["status"]
	for i, st := range statuses {
		if a, ok := templateAliases[st]; ok {
			statuses[i] = a
		}
	}
	categories := q.v["category"]
	for i, cat := range categories {
		if cat == "AUTHENTICATION" {
			categories[i] = "AUTH"
		}
	}
	// The templates never change, so the positions matching a filter are
	// found once and kept: paging through n templates costs O(n), not
	// O(n) per page.
	key := strings.Join([]string{strings.Join(statuses, ","), strings.Join(categories, ","),
		strings.Join(q.v["language"], ","), strings.ToLower(search)}, "\x00")
	match := s.tplMatches.get(key, func() []int {
		var match []int
		for i, t := range s.cfg.templates {
			category := t.Category
			if category == "AUTHENTICATION" {
				category = "AUTH"
			}
			switch {
			case len(statuses) > 0 && !slices.Contains(statuses, t.Status),
				len(categories) > 0 && !slices.Contains(categories, category),
				len(q.v["language"]) > 0 && !slices.Contains(q.v["language"], t.Language),
				search != "" && !strings.Contains(strings.ToLower(t.Name), strings.ToLower(search)):
				continue
			}
			match = append(match, i)
		}
		return match
	})
	// All templates share one timestamp, so every time order is by name.
	desc := sort == "name_desc" || sort == "updated_desc" || sort == "created_desc"
	out := templatePage{Items: []templateItem{}, TotalCount: len(match)}
	for n := offset; n < min(offset+limit, len(match)); n++ {
		i := n
		if desc {
			i = len(match) - 1 - n
		}
		out.Items = append(out.Items, templateItemOf(s.cfg.templates[match[i]]))
	}
	if next := offset + limit; next < len(match) {
		cur := encodeCursor(next)
		out.CursorNext = &cur
	}
	c.write(w, http.StatusOK, out)
}

func templateItemOf(t Template) templateItem {
	format := "POSITIONAL"
	for _, p := range t.Params {
		if _, err := strconv.Atoi(p); err != nil {
			format = "NAMED"
		}
	}
	params := t.Params
	if params == nil {
		params = []string{}
	}
	return templateItem{
		ID:   uuidFor("template:" + t.Name + ":" + t.Language),
		Name: t.Name, Status: t.Status, IsDeleted: t.Status == "DELETED", Language: t.Language,
		Category: t.Category, Params: params, TemplateType: "standard", ParameterFormat: format,
		CreatedAt: templateTimestamp, UpdatedAt: templateTimestamp,
	}
}

func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("offset:%d", offset)))
}

func decodeCursor(cur string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
	if err != nil || n < 0 || !strings.HasPrefix(string(b), "offset:") {
		return 0, fmt.Errorf("bad cursor %q", cur)
	}
	return n, nil
}
