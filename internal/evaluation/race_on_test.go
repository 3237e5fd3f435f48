//go:build race

package evaluation

// raceDetector is true when the tests run under the race detector.
const raceDetector = true
