import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Forbids imports from the named top-level folders (relative paths of any depth). */
function floor(files, above) {
  const group = above.flatMap((dir) => [`../${dir}`, `../${dir}/*`, `../../${dir}`, `../../${dir}/*`, `../../../${dir}/*`, `../../../../${dir}/*`]);
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group, message: `a lower floor must not import ${above.join(', ')} (core <- models, drivers <- runtime <- provisioning)` }] }],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.cache/', 'coverage/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Floors: core <- models, drivers <- runtime <- provisioning. A lower floor never imports an upper one.
  floor(['core/**/*.ts'], ['runtime', 'models', 'drivers', 'provisioning']),
  floor(['models/**/*.ts', 'drivers/**/*.ts'], ['runtime', 'provisioning']),
  floor(['runtime/**/*.ts'], ['provisioning']),
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
);
