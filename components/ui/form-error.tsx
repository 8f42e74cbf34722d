// What went wrong with a form or an action, said once the same way everywhere (role=alert, so screen
// readers announce it). Takes the message from errorMessage() in lib/http/client-fetch.ts.
export function FormError({ message, details, className = "", testId }: { message: string | null | undefined; details?: Array<{ path: string; message: string }>; className?: string; testId?: string }) {
  if (!message) return null;
  return (
    <div role="alert" data-testid={testId} className={`rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm break-words text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200 ${className}`}>
      <p>{message}</p>
      {details && details.length > 0 && (
        <ul className="mt-1 list-disc pl-5 text-xs">
          {details.map((d, i) => (
            <li key={i}>
              {d.path ? <code>{d.path}</code> : null}
              {d.path ? ": " : ""}
              {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A success note after an action (role=status). */
export function FormNotice({ message, className = "", testId }: { message: string | null | undefined; className?: string; testId?: string }) {
  if (!message) return null;
  return (
    <p role="status" data-testid={testId} className={`text-sm break-words text-emerald-800 dark:text-emerald-300 ${className}`}>
      {message}
    </p>
  );
}
