package gateway

import (
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
	labelled   bool
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

// key hashes an id. Ids are kept only as 64-bit hashes: a collision between two live ids
// (probability about n²/2⁶⁵, ~1e-9 for 200k ids) would join a label to the wrong request.
func (s *predictionStore) key(id []byte) (*predictionShard, uint64) {
	h := maphash.Bytes(s.seed, id)
	return &s.shards[h%predictionShards], h
}

// put remembers that served answered id with p. A repeated id replaces the older entry.
func (s *predictionStore) put(id []byte, served *revisionRecorder, p prediction, at time.Time) {
	now := at.UnixNano()
	sh, key := s.key(id)
	sh.mu.Lock()
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

// setMirror attaches the mirror revision's answer to id, if id is still remembered.
func (s *predictionStore) setMirror(id []byte, mirror *revisionRecorder, p prediction) {
	sh, key := s.key(id)
	sh.mu.Lock()
	if e, ok := sh.entries[key]; ok {
		e.mirror, e.mirrorPred = mirror, p
		sh.entries[key] = e
	}
	sh.mu.Unlock()
}

// feedbackResult says what happened to one label.
type feedbackResult uint8

const (
	feedbackJoined feedbackResult = iota
	feedbackUnknown
	feedbackExpired
	feedbackDuplicate
)

// label joins a ground-truth label to id's prediction(s) and records it in the served
// revision's confusion matrix (and the mirror's, with the paired outcome for McNemar).
func (s *predictionStore) label(id string, actual int64) (feedbackResult, *revisionRecorder, prediction) {
	now := s.clock.Now()
	sh, key := s.key([]byte(id))
	sh.mu.Lock()
	e, ok := sh.entries[key]
	switch {
	case !ok:
		sh.mu.Unlock()
		return feedbackUnknown, nil, prediction{}
	case now.UnixNano()-e.at > int64(s.ttl):
		sh.mu.Unlock()
		return feedbackExpired, nil, prediction{}
	case e.labelled:
		sh.mu.Unlock()
		return feedbackDuplicate, nil, prediction{}
	}
	e.labelled = true
	sh.entries[key] = e
	sh.mu.Unlock()

	if e.served != nil && e.pred.hasLabel {
		e.served.recordLabel(now, e.pred.label, actual)
	}
	if e.mirror != nil && e.mirrorPred.hasLabel {
		e.mirror.recordLabel(now, e.mirrorPred.label, actual)
		if e.pred.hasLabel {
			servedRight, mirrorRight := e.pred.label == actual, e.mirrorPred.label == actual
			e.mirror.recordMirror(now, func(m *MirrorStats) {
				switch {
				case servedRight && mirrorRight:
					m.BothRight++
				case servedRight:
					m.ServedRightMirrorWrong++
				case mirrorRight:
					m.ServedWrongMirrorRight++
				default:
					m.BothWrong++
				}
			})
		}
	}
	return feedbackJoined, e.served, e.pred
}
