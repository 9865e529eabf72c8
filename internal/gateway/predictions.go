package gateway

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"
)

// predictionStore remembers, for a bounded time and count, which revision answered each
// inference request id and what it predicted, so a late ground-truth label can be joined.
// It is sharded to keep lock hold times short under load; each shard evicts its oldest
// ids first (FIFO ring), which is also the expiry order.
type predictionStore struct {
	clock  Clock
	ttl    time.Duration
	seed   maphash.Seed
	shards []predictionShard
}

type predictionShard struct {
	mu      sync.Mutex
	entries map[uint64]predictionEntry // keyed by a 64-bit hash of the id (no string kept)
	order   []orderItem                // ring of insertions, oldest at head
	head    int
	size    int
	seq     uint64
}

type orderItem struct {
	key uint64
	seq uint64
}

type predictionEntry struct {
	seq        uint64
	at         int64 // unix nanos when the answer was recorded
	served     *revisionRecorder
	pred       prediction
	mirror     *revisionRecorder
	mirrorPred prediction
	// The joined label, when it arrived, and whether the mirror's answer was counted
	// with it: enough to take it back when a conflicting label arrives.
	labelled     bool
	disputed     bool // conflicting labels, or the id reused with another answer: takes no label
	mirrorJoined bool
	actual       int64
	labelAt      int64
}

const predictionShards = 16

func newPredictionStore(clock Clock, ttl time.Duration, maxEntries int) *predictionStore {
	per := maxEntries / predictionShards
	if per < 1 {
		per = 1
	}
	s := &predictionStore{clock: clock, ttl: ttl, seed: maphash.MakeSeed(), shards: make([]predictionShard, predictionShards)}
	for i := range s.shards {
		// Sized for the bound up front: growing (rehashing) under load cost ~5% of the
		// gateway's CPU while the store filled. Pages are touched only as ids arrive.
		s.shards[i].entries = make(map[uint64]predictionEntry, per)
		s.shards[i].order = make([]orderItem, per)
	}
	return s
}

// key hashes an id and the item's index in a batched request (0 for the first or only
// one). Ids are kept only as 64-bit hashes: a collision between two live ids (probability
// about n²/2⁶⁵, ~1e-9 for 200k ids) would join a label to the wrong request.
func (s *predictionStore) key(id []byte, item int) (*predictionShard, uint64) {
	var h uint64
	if item == 0 {
		h = maphash.Bytes(s.seed, id)
	} else {
		var mh maphash.Hash
		mh.SetSeed(s.seed)
		_, _ = mh.Write(id)
		var idx [9]byte
		idx[0] = '#'
		binary.LittleEndian.PutUint64(idx[1:], uint64(item))
		_, _ = mh.Write(idx[:])
		h = mh.Sum64()
	}
	return &s.shards[h%predictionShards], h
}

// put remembers that served answered item (0 for the first) of request id with p. A live id seen again with the same
// revision and answer (a client's retry) keeps its entry; with another answer (someone
// reusing a victim's id with other input) the entry is disputed and takes no label, so
// whoever sends an id last cannot redirect its label to their own prediction.
func (s *predictionStore) put(id []byte, item int, served *revisionRecorder, p prediction, at time.Time) {
	now := at.UnixNano()
	sh, key := s.key(id, item)
	sh.mu.Lock()
	if e, ok := sh.entries[key]; ok && now-e.at <= int64(s.ttl) {
		if e.served != served || e.pred != p {
			s.disputeLocked(sh, key, e)
		}
		sh.mu.Unlock()
		return
	}
	sh.seq++
	if sh.size == len(sh.order) { // full: evict the oldest insertion
		old := sh.order[sh.head]
		if e, ok := sh.entries[old.key]; ok && e.seq == old.seq {
			delete(sh.entries, old.key)
		}
		sh.head = (sh.head + 1) % len(sh.order)
		sh.size--
	}
	sh.order[(sh.head+sh.size)%len(sh.order)] = orderItem{key: key, seq: sh.seq}
	sh.size++
	sh.entries[key] = predictionEntry{seq: sh.seq, at: now, served: served, pred: p}
	s.dropExpiredLocked(sh, now)
	sh.mu.Unlock()
}

// dropExpiredLocked frees entries older than the TTL from the head of the ring, so memory
// follows the TTL even when feedback never arrives.
func (s *predictionStore) dropExpiredLocked(sh *predictionShard, now int64) {
	limit := now - int64(s.ttl)
	for n := 0; n < 8 && sh.size > 0; n++ { // bounded work per insert
		old := sh.order[sh.head]
		e, ok := sh.entries[old.key]
		if ok && e.seq == old.seq {
			if e.at >= limit {
				return
			}
			// Keep expired entries briefly distinguishable from unknown ones: only drop
			// those past twice the TTL.
			if e.at >= limit-int64(s.ttl) {
				return
			}
			delete(sh.entries, old.key)
		}
		sh.order[sh.head] = orderItem{}
		sh.head = (sh.head + 1) % len(sh.order)
		sh.size--
	}
}

// setMirror attaches the mirror revision's answer to item of request id, if that is still
// remembered and not yet labelled, and returns the served answer it is paired with.
func (s *predictionStore) setMirror(id []byte, item int, mirror *revisionRecorder, p prediction) (served prediction, ok bool) {
	sh, key := s.key(id, item)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[key]
	if !ok {
		return prediction{}, false
	}
	if !e.labelled {
		e.mirror, e.mirrorPred = mirror, p
		sh.entries[key] = e
	}
	return e.pred, true
}

// feedbackResult says what happened to one label.
type feedbackResult uint8

const (
	feedbackJoined feedbackResult = iota
	feedbackUnknown
	feedbackExpired
	feedbackDuplicate // the same label again (a sender's retry): ignored
	feedbackConflict  // a different label than the one joined: both dropped
	feedbackResultCount
)

func (r feedbackResult) String() string {
	switch r {
	case feedbackJoined:
		return "joined"
	case feedbackUnknown:
		return "unknown"
	case feedbackExpired:
		return "expired"
	case feedbackDuplicate:
		return "duplicate"
	case feedbackConflict:
		return "conflict"
	}
	return "invalid"
}

// label joins a ground-truth label to id's prediction(s) and records it in the served
// revision's confusion matrix (and the mirror's, with the paired outcome for McNemar).
// service limits the join to ids that service answered ("" allows any); another
// service's id is reported unknown. A second label that differs from the first is a
// conflict: the first is taken back out of the counts and the id takes no more labels,
// so whoever labels first does not win. Recording happens under the shard lock, so a
// label and its retraction cannot interleave.
func (s *predictionStore) label(service, id string, item int, actual int64) (feedbackResult, *revisionRecorder, prediction) {
	now := s.clock.Now()
	sh, key := s.key([]byte(id), item)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[key]
	switch {
	case !ok || (service != "" && (e.served == nil || e.served.key.service != service)):
		return feedbackUnknown, nil, prediction{}
	case now.UnixNano()-e.at > int64(s.ttl):
		return feedbackExpired, nil, prediction{}
	case e.disputed:
		return feedbackConflict, nil, prediction{}
	case e.labelled && e.actual == actual:
		return feedbackDuplicate, nil, prediction{}
	case e.labelled:
		s.disputeLocked(sh, key, e)
		return feedbackConflict, nil, prediction{}
	}
	e.labelled, e.actual, e.labelAt = true, actual, now.UnixNano()
	if e.served != nil && e.pred.hasLabel {
		e.served.recordLabel(now, e.pred.label, actual, 1)
	}
	if e.mirror != nil && e.mirrorPred.hasLabel {
		e.mirrorJoined = true
		e.mirror.recordLabel(now, e.mirrorPred.label, actual, 1)
		if e.pred.hasLabel {
			e.mirror.recordPair(now, e.pred.label == actual, e.mirrorPred.label == actual, 1)
		}
	}
	sh.entries[key] = e
	return feedbackJoined, e.served, e.pred
}

// disputeLocked marks e as disputed and takes its joined label, if any, back out of the
// counts (in the bucket it was counted in, while that is still kept).
func (s *predictionStore) disputeLocked(sh *predictionShard, key uint64, e predictionEntry) {
	if e.labelled && !e.disputed {
		at := time.Unix(0, e.labelAt)
		if e.served != nil && e.pred.hasLabel {
			e.served.recordLabel(at, e.pred.label, e.actual, -1)
		}
		if e.mirrorJoined {
			e.mirror.recordLabel(at, e.mirrorPred.label, e.actual, -1)
			if e.pred.hasLabel {
				e.mirror.recordPair(at, e.pred.label == e.actual, e.mirrorPred.label == e.actual, -1)
			}
		}
	}
	if !e.disputed && e.served != nil {
		e.served.rec.disputedIDs.Add(1)
	}
	e.disputed = true
	sh.entries[key] = e
}
