"use client";
import { Component, type ReactNode } from "react";

/** One failing panel shows its error and a retry; the rest of the dashboard keeps running. */
export class Boundary extends Component<{ name: string; children: ReactNode }, { error: Error | null }> {
  state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error) {
    console.error(`${this.props.name} panel failed`, error);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div role="alert" className="rounded-md border border-down/50 bg-panel px-3 py-4 text-down">
        The {this.props.name} panel failed: {this.state.error.message}{" "}
        <button type="button" className="underline" onClick={() => this.setState({ error: null })}>
          Retry
        </button>
      </div>
    );
  }
}
