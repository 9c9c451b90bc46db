package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series.
type metrics struct {
	requests    *prometheus.CounterVec   // route, code
	latency     *prometheus.HistogramVec // route
	batches     *prometheus.CounterVec   // direction: push, pull or own
	pushResults *prometheus.CounterVec   // status
	revisions   prometheus.Counter       // newly stored
	pulled      prometheus.Counter       // revisions sent
	blobs       *prometheus.CounterVec   // status
	enrollments prometheus.Counter
	errors      *prometheus.CounterVec // code of a 5xx answer

	uploadsInFlight prometheus.Gauge
	uploadsRefused  *prometheus.CounterVec // why: concurrency, too_slow
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldcased_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fieldcased_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldcased_sync_batches_total", Help: "Sync batches answered, by direction (push, pull).",
		}, []string{"direction"}),
		pushResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldcased_push_results_total", Help: "Pushed revisions by outcome.",
		}, []string{"status"}),
		revisions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fieldcased_revisions_stored_total", Help: "Revisions newly stored.",
		}),
		pulled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fieldcased_revisions_pulled_total", Help: "Revisions sent to devices.",
		}),
		blobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldcased_blobs_total", Help: "Uploaded blobs by outcome.",
		}, []string{"status"}),
		enrollments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fieldcased_enrollments_total", Help: "Devices enrolled.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldcased_errors_total", Help: "Requests answered with a server error, by error code.",
		}, []string{"code"}),
		uploadsInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fieldcased_uploads_in_flight", Help: "Uploads (pushes and blob batches) being received or handled.",
		}),
		uploadsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldcased_uploads_refused_total", Help: "Uploads refused: too many of one device at once (concurrency, 429) or arriving too slowly (too_slow, 408).",
		}, []string{"reason"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.batches, m.pushResults, m.revisions, m.pulled, m.blobs, m.enrollments, m.errors, m.uploadsInFlight, m.uploadsRefused} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
