package sim

import (
	"math"
	"time"
)

// The resource model of one service's instances in a step: load shared among the instances
// that are up, CPU and capacity, queueing, the cache connections and their ports in TIME_WAIT,
// log writers blocking threads, memory, GC, OOM kills and restarts.

// stepService moves one service's instances through the step and fills their frames.
func (s *Sim) stepService(f *Frame, svc Service, offered, bulkRPS, bulkKeys, depErr, depLatMS float64, worstDep string, directErr float64) ServiceFrame {
	t, dt := s.now, StepSize.Seconds()
	insts := s.byService[svc.Name]
	var up []*instanceState
	for _, in := range insts {
		if !t.Before(in.downUntil) {
			up = append(up, in)
		}
	}
	sf := ServiceFrame{Instances: len(insts), Up: len(up)}
	cohortErr := s.meanCohortErrors(svc.Name)
	extraLatency := s.faultSum(FaultLatency, svc.Name, "")
	leakBytes := s.faultSum(FaultLeak, svc.Name, "")
	destinations := 1.0
	for _, c := range svc.Calls {
		if callee, ok := s.World.Service(c.To); ok && callee.Tier == TierData {
			destinations = float64(s.instanceCount(c.To))
			break
		}
	}
	// Bulk requests are few and large: each lands on one instance, so instances do not share
	// them evenly.
	bulkWeight := map[string]float64{}
	wsum := 0.0
	for _, in := range up {
		w := 1.0
		if bulkRPS > 0 {
			w = min(3, max(0.1, 1+0.8*s.noise.Normal("bulk/"+in.Name, t.Unix())))
		}
		bulkWeight[in.Name] = w
		wsum += w
	}
	var totalReq, totalErr, latWeighted, ownLatWeighted, ownWeighted, missWeighted float64
	if len(up) == 0 {
		// Nothing to serve the traffic: every request fails at the load balancer.
		sf.RPS, sf.ErrorRatio, sf.OwnError, sf.LatencyMS, sf.OwnLatencyMS = offered, 1, 1, svc.LatencyMS, svc.LatencyMS
	}
	for k, in := range insts {
		fr := InstanceFrame{Instance: in.Instance, Version: s.version[svc.Name], PortLimit: EphemeralPorts * destinations * s.spreadOf(svc.Name)}
		in.slot = (in.slot + 1) % timeWaitSlots
		in.timeWait[in.slot] = 0
		isUp := !t.Before(in.downUntil)
		if !isUp || len(up) == 0 {
			fr.Up = false
			s.fillCounters(&fr, in)
			fr.MemoryBytes, fr.TimeWait = 0, sum(in.timeWait[:])
			f.Instances = append(f.Instances, fr)
			continue
		}
		fr.Up = true
		share := offered / float64(len(up))
		bulkShare := bulkRPS * bulkWeight[in.Name] / wsum
		hog := 0.0
		if !in.hogCleared {
			hog = min(cpuLimitCores*0.95, s.faultSum(FaultCPUHog, svc.Name, in.Name))
		}
		gcPrev := gcRatio(in.memMB)
		capacity := svc.CapacityRPS * (cpuLimitCores - hog) / cpuLimitCores * (1 - gcPrev)
		rho := share / capacity
		rejected := max(0, share-capacity)
		served := share - rejected
		queue := 1 + 0.5*math.Pow(min(rho, 0.97), 8)/(1-min(rho, 0.97))

		// Connections to the cache: pooled for normal requests; one new connection per key
		// for bulk requests, each ending in TIME_WAIT on this side.
		want := bulkShare * bulkKeys * dt
		tw := sum(in.timeWait[:])
		inUse := float64(poolSize) + bulkShare*bulkKeys*0.05
		free := max(0, fr.PortLimit-tw-inUse)
		opened := min(want, free)
		failed := want - opened
		in.timeWait[in.slot] = opened
		if in.poolBroken && free > poolSize {
			in.poolBroken = false
		}

		gc := gcRatio(in.memMB)
		own := svc.ErrorRatio*(1+0.2*s.noise.Normal("err/"+in.Name, t.Unix())) + cohortErr
		if gc > gcTimeouts {
			own += 2 * (gc - gcTimeouts) // requests time out behind the pauses
		}
		if in.poolBroken {
			own += 0.5 // the cache is unreachable: reads fall through and time out
		}
		if failed > 0 && want > 0 {
			own += failed / want // pooled connections that die cannot be redialled
		}
		own = min(1, max(0, own))

		errLinesPerSec := failed/dt + served*own
		in.backlog = max(0, in.backlog+(errLinesPerSec-logSinkLinesPerSecond)*dt)
		threads := min(MaxThreads, 14+in.backlog/120+served*0.002)
		latOwnMS := svc.LatencyMS*queue/(1-gc) + extraLatency
		goroutines := 24 + served*(latOwnMS+depLatMS)/1000 + bulkShare*bulkKeys*(0.05+failed/max(want, 1))
		// Instances leak at slightly different speeds (their caches fill differently).
		in.leakMB += leakBytes * (1 - 0.005*float64(k)) * served * dt / 1e6
		target := baseMemoryMB + goroutines*0.008 + threads*0.1 + in.backlog*0.0005 + in.leakMB
		in.memMB += (target - in.memMB) * memoryRelax
		cpu := min(cpuLimitCores, 0.04+1.5*served/svc.CapacityRPS+threads*0.00015+gc*0.5+hog)
		in.cpuSeconds += cpu * dt
		in.gcSeconds += gc * dt

		if in.memMB > memoryLimitMB || threads >= MaxThreads {
			// The kernel kills the process (or the Go runtime aborts at its thread limit); it
			// restarts after the back-off, into whatever state the network namespace keeps.
			if in.memMB > memoryLimitMB {
				in.ooms++
				fr.step.oom = true
			}
			in.restarts++
			in.crashes++
			back := min(maxBackoff, restartBackoff<<min(in.crashes-1, 5))
			in.downUntil = t.Add(back)
			in.upSince = in.downUntil
			in.memMB, in.leakMB, in.backlog, in.poolBroken = baseMemoryMB, 0, 0, true
			fr.step.restart = true
			own = max(own, 0.5) // in-flight requests are lost
		} else if t.Sub(in.upSince) > 10*time.Minute {
			in.crashes = 0 // Kubernetes resets the back-off after ten minutes of running
		}

		errRatio := own + (1-own)*depErr
		latMS := latOwnMS + depLatMS
		n := served * dt
		errs := n * errRatio
		in.requests[code200] += n - errs
		if in.poolBroken || fr.step.restart {
			in.requests[code503] += errs
		} else {
			in.requests[code500] += errs
		}
		if svc.Tier == TierGateway || svc.Name == "search" {
			in.requests[code429] += rejected * dt // these services have a rate limiter
		} else {
			in.requests[code503] += rejected * dt
		}
		median := latMS / 1000
		logMedian := math.Log(median)
		for b, logBound := range logBounds {
			in.buckets[b] += n * normalCDF((logBound-logMedian)/0.6)
		}
		in.latSum += n * median * logNormalMean
		in.latCount += n

		fr.RPS, fr.ErrorRatio = share, (errs+rejected*dt)/max(share*dt, 1e-9)
		fr.P50, fr.P99 = median, median*logNormalP99
		fr.CPUCores, fr.MemoryBytes, fr.GCPauseRatio = cpu, in.memMB*1e6, gc
		fr.Threads, fr.Goroutines = threads, goroutines
		fr.OpenConnections = inUse + served*0.02
		fr.PortsInUse, fr.TimeWait, fr.ConnectFailures = inUse, sum(in.timeWait[:]), failed/dt
		in.connFails += failed
		ownErrs := n * min(own, max(0, own-cohortErr))
		fr.step = stepCounts{served: n, rejected: rejected * dt, own: ownErrs, fault: n * min(own, cohortErr),
			dep: n * (1 - own) * depErr, depDirect: n * (1 - own) * min(depErr, directErr), connectFailures: failed, gc: gc, worstDep: worstDep, oom: fr.step.oom, restart: fr.step.restart,
			started: t.Sub(in.upSince) >= 0 && t.Sub(in.upSince) < StepSize}
		if latMS > 3*(svc.LatencyMS+depLatMS) {
			fr.step.slow = n * 0.2
		}
		s.fillCounters(&fr, in)
		f.Instances = append(f.Instances, fr)

		totalReq += share * dt
		totalErr += errs + rejected*dt
		latWeighted += latMS * share
		ownLatWeighted += latOwnMS * share
		ownWeighted += (own + (1-own)*rejected/share) * share
		miss := 0.0
		if in.poolBroken {
			miss = 1
		} else if want > 0 {
			miss = 0.8 * failed / want
		}
		missWeighted += miss * share
	}
	s.cacheMiss[svc.Name] = 0
	if totalReq > 0 {
		s.cacheMiss[svc.Name] = missWeighted * dt / totalReq
	}
	if totalReq > 0 {
		sf.RPS = totalReq / dt
		sf.ErrorRatio = totalErr / totalReq
		sf.LatencyMS = latWeighted / sf.RPS
		sf.OwnLatencyMS = ownLatWeighted / sf.RPS
		// What callers and journeys see: callers retry once on another instance, so a
		// transient failure reaches them only if the retry fails too; the base rate and
		// cohort faults (the same request fails the same way) are not retried away.
		transient := max(0, ownWeighted/sf.RPS-cohortErr-svc.ErrorRatio)
		sf.OwnError = svc.ErrorRatio + transient*transient
	}
	sf.Effective = 1 - (1-min(1, sf.OwnError+cohortErr))*(1-depErr)
	return sf
}

func (s *Sim) fillCounters(fr *InstanceFrame, in *instanceState) {
	fr.Requests = in.requests
	fr.Buckets = append([]float64(nil), in.buckets...)
	fr.LatencySum, fr.LatencyCount = in.latSum, in.latCount
	fr.CPUSeconds, fr.GCSeconds, fr.Restarts, fr.OOMs = in.cpuSeconds, in.gcSeconds, in.restarts, in.ooms
	fr.LogLines = in.logLines
	fr.ConnectFailuresTotal = in.connFails
}

func (s *Sim) instanceCount(service string) int {
	n := 0
	for _, in := range s.inst {
		if in.Service == service {
			n++
		}
	}
	return n
}

func (s *Sim) spreadOf(service string) float64 {
	if v := s.spread[service]; v > 0 {
		return v
	}
	return 1
}

// gcRatio is the share of time a Go process spends in GC pauses at a given heap: negligible
// until the heap is within a few percent of the container's limit (a Go runtime with
// GOMEMLIMIT collects ever more often as it nears it), then climbing steeply.
func gcRatio(memMB float64) float64 {
	return min(0.6, 0.002+0.45*math.Pow(memMB/memoryLimitMB, 150))
}

// Latencies are log-normal with sigma 0.6: the mean and the 99th percentile as multiples of the
// median. Memory moves towards its target with a 30-second time constant.
var (
	logNormalMean = math.Exp(0.6 * 0.6 / 2)
	logNormalP99  = math.Exp(2.326 * 0.6)
	memoryRelax   = 1 - math.Exp(-StepSize.Seconds()/30)
)

// gcTimeouts is the share of time in GC pauses above which requests start to time out.
const gcTimeouts = 0.3

var logBounds = func() []float64 {
	out := make([]float64, len(HistogramBounds))
	for i, b := range HistogramBounds {
		out[i] = math.Log(b)
	}
	return out
}()

func normalCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

func sum(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t
}
