package converge

// OnCached has f call fn with the keys of each batch of reads its apply
// caches, after they are saved.
func OnCached(f *Flow, fn func(keys []string)) { f.cached = fn }

// CacheMinBatch is how many groups' results the apply's cache writer
// waits for before it saves their reads, unless the apply ended.
const CacheMinBatch = cacheMinBatch
