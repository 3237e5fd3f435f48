//go:build !race

package analyzer

// raceDetector is true when the tests run under the race detector.
const raceDetector = false
