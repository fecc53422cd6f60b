/**
 * A module worker for the MQTT tests: it "detects" as many people as the
 * test says (setPersons), so events can be made to start, change and end on
 * demand. The system imports this same file, so the test and the worker
 * share its state.
 */
let persons = 0;

export function setPersons(n: number): void {
  persons = n;
}

export default function detect(): { detections: unknown[]; persons: number } {
  const detections = Array.from({ length: persons }, (_, i) => ({
    class_name: 'person',
    confidence: Math.min(0.99, 0.6 + i * 0.05),
    bbox: [0.05 * i, 0.1, 0.05 * i + 0.1, 0.5],
  }));
  return { detections, persons };
}
