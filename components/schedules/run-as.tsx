// Who a schedule's runs act as, as the schedule pages show it (a warning when that user cannot run it).
export function RunAs({ user }: { user: { email: string; role: string; disabled: boolean } | undefined }) {
  if (!user) return <span className="text-red-600">nobody (the user was deleted): its runs fail until you choose one</span>;
  if (user.disabled) return <span className="text-red-600">{user.email} (disabled): its runs fail until you choose another user</span>;
  return (
    <span>
      {user.email} <span className="text-zinc-500">({user.role})</span>
    </span>
  );
}
