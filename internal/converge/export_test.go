package converge

// OnCached has f call fn with the keys of each batch of reads its apply
// caches, after they are saved.
func OnCached(f *Flow, fn func(keys []string)) { f.cached = fn }
