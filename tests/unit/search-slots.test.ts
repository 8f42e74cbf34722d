import { describe, expect, it } from "vitest";
import { createSlots } from "@/lib/retrieve/slots";

/** A call the test finishes by hand, so what runs when is decided by the test, not by timing. */
function gate() {
  let open!: () => void;
  const done = new Promise<void>((resolve) => (open = resolve));
  return { open, done };
}
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("search slots", () => {
  it("runs at most the limit at once and starts the waiting ones in the order they came", async () => {
    const slots = createSlots(2);
    const gates = Array.from({ length: 5 }, gate);
    const started: number[] = [];
    let maxRunning = 0;
    const calls = gates.map((g, i) =>
      slots.run(async () => {
        started.push(i);
        maxRunning = Math.max(maxRunning, slots.running);
        await g.done;
        return i;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    expect(slots.running).toBe(2);
    expect(slots.waiting).toBe(3);

    gates[1]!.open();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.open();
    await tick();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const g of gates) g.open();
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(maxRunning).toBe(2);
    expect(slots.running).toBe(0);
    expect(slots.waiting).toBe(0);
  });

  it("frees the slot of a call that fails", async () => {
    const slots = createSlots(1);
    await expect(slots.run(async () => Promise.reject(new Error("statement failed")))).rejects.toThrow("statement failed");
    expect(slots.running).toBe(0);
    expect(await slots.run(async () => "next")).toBe("next");
  });

  it("a newcomer does not overtake a waiting call when a slot frees", async () => {
    const slots = createSlots(1);
    const first = gate();
    const order: string[] = [];
    const a = slots.run(async () => {
      order.push("a");
      await first.done;
    });
    const b = slots.run(async () => void order.push("b"));
    await tick();
    first.open();
    await a; // the slot is handed to b, which may not have started yet
    const c = slots.run(async () => void order.push("c"));
    await Promise.all([b, c]);
    expect(order).toEqual(["a", "b", "c"]);
  });

  it("refuses a limit that is not a positive integer", () => {
    expect(() => createSlots(0)).toThrow(/positive integer/);
    expect(() => createSlots(1.5)).toThrow(/positive integer/);
  });
});
