package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AnalysisRun is the record of one execution of analysis templates, with every measurement.
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=analysisruns,shortName=ar
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.phase",description="AnalysisRun status"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"
type AnalysisRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AnalysisRunSpec   `json:"spec"`
	Status AnalysisRunStatus `json:"status,omitempty"`
}

// AnalysisRunSpec is the resolved metrics and arguments of a run.
type AnalysisRunSpec struct {
	Metrics []Metric   `json:"metrics"`
	Args    []Argument `json:"args,omitempty"`
	// Terminate stops the run; it ends Successful unless a metric already failed.
	Terminate            bool                   `json:"terminate,omitempty"`
	DryRun               []DryRun               `json:"dryRun,omitempty"`
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`
}

// AnalysisPhase is the state of a run, a metric or a measurement.
type AnalysisPhase string

// Analysis phases. Failed means the metric said no; Error means it could not be measured.
const (
	AnalysisPhasePending      AnalysisPhase = "Pending"
	AnalysisPhaseRunning      AnalysisPhase = "Running"
	AnalysisPhaseSuccessful   AnalysisPhase = "Successful"
	AnalysisPhaseFailed       AnalysisPhase = "Failed"
	AnalysisPhaseError        AnalysisPhase = "Error"
	AnalysisPhaseInconclusive AnalysisPhase = "Inconclusive"
)

// Completed reports whether the phase is final.
func (p AnalysisPhase) Completed() bool {
	switch p {
	case AnalysisPhaseSuccessful, AnalysisPhaseFailed, AnalysisPhaseError, AnalysisPhaseInconclusive:
		return true
	}
	return false
}

// AnalysisRunStatus is the state and results of a run.
type AnalysisRunStatus struct {
	Phase         AnalysisPhase  `json:"phase"`
	Message       string         `json:"message,omitempty"`
	MetricResults []MetricResult `json:"metricResults,omitempty"`
	StartedAt     *metav1.Time   `json:"startedAt,omitempty"`
	// CompletedAt (shipsafe) is when the run reached a final phase.
	CompletedAt   *metav1.Time `json:"completedAt,omitempty"`
	RunSummary    RunSummary   `json:"runSummary,omitempty"`
	DryRunSummary *RunSummary  `json:"dryRunSummary,omitempty"`
}

// RunSummary counts metrics by phase.
type RunSummary struct {
	Count        int32 `json:"count,omitempty"`
	Successful   int32 `json:"successful,omitempty"`
	Failed       int32 `json:"failed,omitempty"`
	Inconclusive int32 `json:"inconclusive,omitempty"`
	Error        int32 `json:"error,omitempty"`
}

// MetricResult is one metric's state and measurements within a run.
type MetricResult struct {
	Name               string            `json:"name"`
	Phase              AnalysisPhase     `json:"phase"`
	Measurements       []Measurement     `json:"measurements,omitempty"`
	Message            string            `json:"message,omitempty"`
	Count              int32             `json:"count,omitempty"`
	Successful         int32             `json:"successful,omitempty"`
	Failed             int32             `json:"failed,omitempty"`
	Inconclusive       int32             `json:"inconclusive,omitempty"`
	Error              int32             `json:"error,omitempty"`
	ConsecutiveError   int32             `json:"consecutiveError,omitempty"`
	ConsecutiveSuccess int32             `json:"consecutiveSuccess,omitempty"`
	DryRun             bool              `json:"dryRun,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
}

// Measurement is one observation of a metric.
type Measurement struct {
	Phase      AnalysisPhase `json:"phase"`
	Message    string        `json:"message,omitempty"`
	StartedAt  *metav1.Time  `json:"startedAt,omitempty"`
	FinishedAt *metav1.Time  `json:"finishedAt,omitempty"`
	// Value is the measured value as text (a number, or a JSON array/object).
	Value    string            `json:"value,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// ResumeAt is when a still-running measurement should be checked again.
	ResumeAt *metav1.Time `json:"resumeAt,omitempty"`
}
